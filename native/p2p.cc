// Point to point: isend, recv (and probe), iprobe, in the message format of message.h.
#include <cstdlib>
#include <cstring>
#include <string>

#include "addon.h"
#include "buffer_pool.h"
#include "matching.h"
#include "util.h"

namespace orchid {

Napi::Value payloadOf(Napi::Env env, Pending* p) {
  if (p->wrote) return env.Null();
  Napi::ArrayBuffer ab;
  if (p->len == 0) {
    ab = Napi::ArrayBuffer::New(env, 0);
    free(p->data);
  } else if (p->small) {
    ab = Napi::ArrayBuffer::New(env, p->len);
    memcpy(ab.Data(), p->data + HDR, p->len);
    free(p->data);
  } else {
    ab = pooledArrayBuffer(env, p->data, p->len);
  }
  p->data = nullptr;
  return ab;
}

Napi::Value messageOf(Napi::Env env, Pending* p) {
  auto out = Napi::Array::New(env, 4);
  out.Set(0u, p->rsrc);
  out.Set(1u, p->rtag);
  out.Set(2u, static_cast<double>(p->hdr[0]));
  out.Set(3u, p->wrote ? Napi::Number::New(env, static_cast<double>(p->len)) : payloadOf(env, p));
  return out;
}

Napi::Value OrchidMpi::fastResult(Napi::Env env, Pending* p) {
  status_[0] = p->rsrc;
  status_[1] = p->rtag;
  status_[2] = p->hdr[0];
  status_[3] = static_cast<int32_t>(p->len);
  return p->action == Action::Probe ? env.Null() : payloadOf(env, p);
}

// isend(comm, dest, tag, elem, bytes) -> 0 when complete (the data may be reused), else an id.
// Small payloads are copied (complete at once for the caller); large ones go by pointer.
Napi::Value OrchidMpi::Isend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  JsLock lk;
  MPI_Comm c = commOf(env, info[0]);
  uint32_t h = info[0].As<Napi::Number>().Uint32Value();
  int dest = info[1].As<Napi::Number>().Int32Value();
  int tag = info[2].As<Napi::Number>().Int32Value();
  uint32_t elem = info[3].As<Napi::Number>().Uint32Value();
  Bytes b = bytesOf(info[4]);
  if (b.n > 0x7fffffffu) Throw(env, "MPI_Isend: a message is at most 2 GiB - 1 byte (MPI counts are int)");
  Pending* p = newPending(Action::Requests);
  int rc;
  if (b.n <= SMALL) {
    uint32_t h0 = MAGIC | (elem & 0xff);
    p->own.resize(HDR + b.n);
    memcpy(p->own.data(), &h0, 4);
    memset(p->own.data() + 4, 0, 4);
    if (b.n) memcpy(p->own.data() + HDR, b.p, b.n);
    rc = MPI_Isend(p->own.data(), (int)p->own.size(), MPI_BYTE, dest, tag, c, &p->req);
    p->notify = false;
  } else {
    uint32_t h0 = LMAGIC | (elem & 0xff);
    memcpy(p->hdr, &h0, LHDR);
    rc = MPI_Isend(p->hdr, LHDR, MPI_BYTE, dest, tag, c, &p->req);
    if (rc == MPI_SUCCESS) rc = MPI_Isend(b.p, (int)b.n, MPI_BYTE, dest, tag, session.shadows[h], &p->req2);
    if (rc != MPI_SUCCESS && p->req != MPI_REQUEST_NULL) {
      // the header went: MPI still reads p->hdr, so the operation stays until that completes
      p->notify = false;
      progress.active.push_back(p);
      wake();
      Throw(env, "MPI_Isend: " + mpiError(rc));
    }
  }
  if (rc != MPI_SUCCESS) {
    delete p;
    Throw(env, "MPI_Isend: " + mpiError(rc));
  }
  bool fin = testPending(p);
  if (!fin && p->notify) spin([&] { return testPending(p); });
  if (p->req == MPI_REQUEST_NULL && p->req2 == MPI_REQUEST_NULL) {
    delete p;
    return Napi::Number::New(env, 0);
  }
  uint32_t id = p->notify ? p->id : 0;
  progress.active.push_back(p);
  wake();
  return Napi::Number::New(env, id);
}

// recv(comm, src, tag, probeOnly[, into, elem]) -> when matched at once (the fast path) the
// payload (an ArrayBuffer; null for a probe or when it went into `into`) with [src, tag, elem,
// bytes] in init's status array; else an id whose completion brings [src, tag, elem,
// ArrayBuffer | bytes written] ([src, tag, bytes] for a probe).
Napi::Value OrchidMpi::Recv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  JsLock lk;
  uint32_t h = info[0].As<Napi::Number>().Uint32Value();
  commOf(env, info[0]);
  Pending* p = newPending(info[3].ToBoolean() ? Action::Probe : Action::Recv);
  p->comm = h;
  p->src = info[1].As<Napi::Number>().Int32Value();
  p->tag = info[2].As<Napi::Number>().Int32Value();
  if (p->src < 0) p->src = MPI_ANY_SOURCE;
  if (p->tag < 0) p->tag = MPI_ANY_TAG;
  if (info.Length() > 5 && info[4].IsTypedArray()) {
    Bytes b = bytesOf(info[4]);
    p->into = b.p;
    p->cap = b.n;
    p->wantElem = info[5].As<Napi::Number>().Int32Value();
  }
  if (!blockedByEarlier(p) && (tryMatch(p) || spin([&] { return tryMatch(p); }))) {
    auto fail = [&]() {
      std::string m = mpiError(p->rc);
      p->releaseData();
      delete p;
      Throw(env, m);
    };
    if (p->rc != MPI_SUCCESS) fail();
    if (p->action == Action::Probe) {
      Napi::Value r = fastResult(env, p);
      delete p;
      return r;
    }
    if (p->large && !payloadPending(p->comm, p->src, p->tag) && (tryPayload(p) || spin([&] { return tryPayload(p); }))) {
      if (p->rc != MPI_SUCCESS) fail();
    }
    if (p->large && p->req == MPI_REQUEST_NULL) {
      progress.payloads.push_back(p);
    } else {
      if (!testPending(p)) spin([&] { return testPending(p); });
      if (p->rc != MPI_SUCCESS) fail();
      if (p->req == MPI_REQUEST_NULL) {
        finishRecv(p);
        Napi::Value r = fastResult(env, p);
        delete p;
        return r;
      }
      progress.active.push_back(p);
    }
  } else {
    progress.waiting.push_back(p);
  }
  wake();
  return Napi::Number::New(env, p->id);
}

// iprobe(comm, src, tag) -> [src, tag, bytes] | undefined
Napi::Value OrchidMpi::Iprobe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  JsLock lk;
  MPI_Comm c = commOf(env, info[0]);
  uint32_t h = info[0].As<Napi::Number>().Uint32Value();
  int src = info[1].As<Napi::Number>().Int32Value();
  int tag = info[2].As<Napi::Number>().Int32Value();
  int flag = 0;
  MPI_Status st;
  check(env, MPI_Iprobe(src < 0 ? MPI_ANY_SOURCE : src, tag < 0 ? MPI_ANY_TAG : tag, c, &flag, &st), "MPI_Iprobe");
  if (!flag) return env.Undefined();
  int count = 0;
  MPI_Get_count(&st, MPI_BYTE, &count);
  double bytes = count >= (int)HDR ? count - (int)HDR : 0;
  if (count == LHDR) {
    // a large message: its size is its payload's, once that has arrived (until then, not yet here)
    size_t n = 0;
    int rc = MPI_SUCCESS;
    if (!payloadSize(h, st.MPI_SOURCE, st.MPI_TAG, &n, &rc)) return env.Undefined();
    check(env, rc, "MPI_Iprobe");
    bytes = static_cast<double>(n);
  }
  auto out = Napi::Array::New(env, 3);
  out.Set(0u, st.MPI_SOURCE);
  out.Set(1u, st.MPI_TAG);
  out.Set(2u, bytes);
  return out;
}

}  // namespace orchid
