// The collectives, one export each: (comm, …) -> 0 when complete, else an id whose
// completion is reported. Buffers are typed arrays or ArrayBuffers (null where MPI ignores
// them on this rank); `dtype` is an element kind or ELEM_BYTES (abi.h), `op` an op code;
// counts and displacements are Int32Arrays in units of `dtype`, and bytes for the v-variants.
#include <memory>
#include <string>

#include "abi.h"
#include "addon.h"
#include "util.h"

namespace orchid {
namespace {

int num(const Napi::CallbackInfo& info, size_t i) { return info[i].As<Napi::Number>().Int32Value(); }

MPI_Datatype dtype(const Napi::CallbackInfo& info, size_t i) {
  MPI_Datatype d = datatypeOf(num(info, i));
  if (d == MPI_DATATYPE_NULL) Throw(info.Env(), "bad element kind");
  return d;
}

// the op for elements of datatype `d`: min and max on floats follow JS (small_reduce.h)
MPI_Op op(const Napi::CallbackInfo& info, size_t i, MPI_Datatype d) {
  int code = num(info, i);
  if ((code == OP_min || code == OP_max) && (d == MPI_DOUBLE || d == MPI_FLOAT))
    return code == OP_min ? session.jsMinMax.min : session.jsMinMax.max;
  return mpiOpOf(code);
}

// counts / displacements: an Int32Array, or nullptr (null: not read on this rank)
const int* ints(const Napi::Value& v) { return v.IsTypedArray() ? v.As<Napi::Int32Array>().Data() : nullptr; }

// allreduce / scan / exscan(comm, send, recv, count, dtype, op): one signature in MPI
using Reduction = int (*)(const void*, void*, int, MPI_Datatype, MPI_Op, MPI_Comm, MPI_Request*);
auto reduction(const Napi::CallbackInfo& info, Reduction fn) {
  return [&info, fn](MPI_Comm c, MPI_Request* r) {
    MPI_Datatype d = dtype(info, 4);
    return fn(bytesOf(info[1]).p, bytesOf(info[2]).p, num(info, 3), d, op(info, 5, d), c, r);
  };
}

// allgather / alltoall(comm, send, count, recv, dtype): `count` elements to or from each rank
using Exchange = int (*)(const void*, int, MPI_Datatype, void*, int, MPI_Datatype, MPI_Comm, MPI_Request*);
auto exchange(const Napi::CallbackInfo& info, Exchange fn) {
  return [&info, fn](MPI_Comm c, MPI_Request* r) {
    MPI_Datatype d = dtype(info, 4);
    return fn(bytesOf(info[1]).p, num(info, 2), d, bytesOf(info[3]).p, num(info, 2), d, c, r);
  };
}

}  // namespace

template <typename Start>
Napi::Value OrchidMpi::collective(const Napi::CallbackInfo& info, const char* what, Start start) {
  Napi::Env env = info.Env();
  JsLock lk;
  MPI_Comm c = commOf(env, info[0]);
  std::unique_ptr<Pending> p(newPending(Action::Requests));
  int rc = start(c, &p->req);
  progress.collectives++;
  if (rc != MPI_SUCCESS) Throw(env, std::string(what) + ": " + mpiError(rc));
  if (!testPending(p.get())) spin([&] { return testPending(p.get()); });
  if (p->req == MPI_REQUEST_NULL) return Napi::Number::New(env, 0);
  uint32_t id = p->id;
  progress.active.push_back(p.release());
  wake();
  return Napi::Number::New(env, id);
}

// barrier(comm)
Napi::Value OrchidMpi::Barrier(const Napi::CallbackInfo& info) {
  return collective(info, "MPI_Ibarrier", [&](MPI_Comm c, MPI_Request* r) { return MPI_Ibarrier(c, r); });
}

// bcast(comm, buf, count, dtype, root)
Napi::Value OrchidMpi::Bcast(const Napi::CallbackInfo& info) {
  return collective(info, "MPI_Ibcast", [&](MPI_Comm c, MPI_Request* r) {
    return MPI_Ibcast(bytesOf(info[1]).p, num(info, 2), dtype(info, 3), num(info, 4), c, r);
  });
}

Napi::Value OrchidMpi::Allreduce(const Napi::CallbackInfo& info) { return collective(info, "MPI_Iallreduce", reduction(info, MPI_Iallreduce)); }
Napi::Value OrchidMpi::Scan(const Napi::CallbackInfo& info) { return collective(info, "MPI_Iscan", reduction(info, MPI_Iscan)); }
Napi::Value OrchidMpi::Exscan(const Napi::CallbackInfo& info) { return collective(info, "MPI_Iexscan", reduction(info, MPI_Iexscan)); }

// smallAllreduce(comm, send block, recv block): SR_BLOCK bytes each (small_reduce.h)
Napi::Value OrchidMpi::SmallAllreduce(const Napi::CallbackInfo& info) {
  return collective(info, "MPI_Iallreduce (small)", [&](MPI_Comm c, MPI_Request* r) {
    Bytes s = bytesOf(info[1]), d = bytesOf(info[2]);
    if (s.n < (size_t)SR_BLOCK || d.n < (size_t)SR_BLOCK) Throw(info.Env(), "smallAllreduce: blocks must be " + std::to_string(SR_BLOCK) + " bytes");
    return MPI_Iallreduce(s.p, d.p, 1, session.smallReduce.type, session.smallReduce.op, c, r);
  });
}

// reduce(comm, send, recv | null, count, dtype, op, root)
Napi::Value OrchidMpi::Reduce(const Napi::CallbackInfo& info) {
  return collective(info, "MPI_Ireduce", [&](MPI_Comm c, MPI_Request* r) {
    MPI_Datatype d = dtype(info, 4);
    return MPI_Ireduce(bytesOf(info[1]).p, bytesOf(info[2]).p, num(info, 3), d, op(info, 5, d), num(info, 6), c, r);
  });
}

Napi::Value OrchidMpi::Allgather(const Napi::CallbackInfo& info) { return collective(info, "MPI_Iallgather", exchange(info, MPI_Iallgather)); }

// scatter(comm, send | null, count, recv, dtype, root)
Napi::Value OrchidMpi::Scatter(const Napi::CallbackInfo& info) {
  return collective(info, "MPI_Iscatter", [&](MPI_Comm c, MPI_Request* r) {
    MPI_Datatype d = dtype(info, 4);
    return MPI_Iscatter(bytesOf(info[1]).p, num(info, 2), d, bytesOf(info[3]).p, num(info, 2), d, num(info, 5), c, r);
  });
}

Napi::Value OrchidMpi::Alltoall(const Napi::CallbackInfo& info) { return collective(info, "MPI_Ialltoall", exchange(info, MPI_Ialltoall)); }

// gatherv(comm, send, sendCount, recv | null, counts | null, displs | null, root), in bytes
Napi::Value OrchidMpi::Gatherv(const Napi::CallbackInfo& info) {
  return collective(info, "MPI_Igatherv", [&](MPI_Comm c, MPI_Request* r) {
    return MPI_Igatherv(bytesOf(info[1]).p, num(info, 2), MPI_BYTE, bytesOf(info[3]).p, ints(info[4]), ints(info[5]), MPI_BYTE, num(info, 6), c, r);
  });
}

// allgatherv(comm, send, sendCount, recv, counts, displs), in bytes
Napi::Value OrchidMpi::Allgatherv(const Napi::CallbackInfo& info) {
  return collective(info, "MPI_Iallgatherv", [&](MPI_Comm c, MPI_Request* r) {
    return MPI_Iallgatherv(bytesOf(info[1]).p, num(info, 2), MPI_BYTE, bytesOf(info[3]).p, ints(info[4]), ints(info[5]), MPI_BYTE, c, r);
  });
}

// scatterv(comm, send | null, counts | null, displs | null, recv, recvCount, root), in bytes
Napi::Value OrchidMpi::Scatterv(const Napi::CallbackInfo& info) {
  return collective(info, "MPI_Iscatterv", [&](MPI_Comm c, MPI_Request* r) {
    return MPI_Iscatterv(bytesOf(info[1]).p, ints(info[2]), ints(info[3]), MPI_BYTE, bytesOf(info[4]).p, num(info, 5), MPI_BYTE, num(info, 6), c, r);
  });
}

// alltoallv(comm, send, sendCounts, sendDispls, recv, recvCounts, recvDispls), in bytes
Napi::Value OrchidMpi::Alltoallv(const Napi::CallbackInfo& info) {
  return collective(info, "MPI_Ialltoallv", [&](MPI_Comm c, MPI_Request* r) {
    return MPI_Ialltoallv(bytesOf(info[1]).p, ints(info[2]), ints(info[3]), MPI_BYTE, bytesOf(info[4]).p, ints(info[5]), ints(info[6]), MPI_BYTE, c, r);
  });
}

}  // namespace orchid
