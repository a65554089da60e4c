// orchid's native transport: a node-addon-api addon over libmpi (MPICH or Open MPI). This
// file: the module, MPI's lifecycle, communicators, and completions to JS. Point to point is
// in p2p.cc, the collectives in collectives.cc, the operations in flight in progress.h.
#include "addon.h"

#include <cstdlib>
#include <string>

#include "abi.h"
#include "buffer_pool.h"
#include "util.h"

namespace orchid {

OrchidMpi::OrchidMpi(Napi::Env env, Napi::Object exports) {
  // process.exit() without finalize(): stop the progress thread before the process ends
  // (a joinable std::thread at exit would abort the process).
  env.AddCleanupHook([this]() {
    stopIdlePoll();
    if (session.initialised && !session.finalised) stopProgress();
  });
  constexpr auto attr = napi_default_jsproperty;  // as plain properties: enumerable, writable
  DefineAddon(exports, {
                           InstanceMethod<&OrchidMpi::Initialize>("init", attr),
                           InstanceMethod<&OrchidMpi::Isend>("isend", attr),
                           InstanceMethod<&OrchidMpi::Recv>("recv", attr),
                           InstanceMethod<&OrchidMpi::Iprobe>("iprobe", attr),
                           InstanceMethod<&OrchidMpi::Barrier>("barrier", attr),
                           InstanceMethod<&OrchidMpi::Leave>("leave", attr),
                           InstanceMethod<&OrchidMpi::Bcast>("bcast", attr),
                           InstanceMethod<&OrchidMpi::Allreduce>("allreduce", attr),
                           InstanceMethod<&OrchidMpi::Scan>("scan", attr),
                           InstanceMethod<&OrchidMpi::Exscan>("exscan", attr),
                           InstanceMethod<&OrchidMpi::SmallAllreduce>("smallAllreduce", attr),
                           InstanceMethod<&OrchidMpi::Reduce>("reduce", attr),
                           InstanceMethod<&OrchidMpi::Allgather>("allgather", attr),
                           InstanceMethod<&OrchidMpi::Scatter>("scatter", attr),
                           InstanceMethod<&OrchidMpi::Alltoall>("alltoall", attr),
                           InstanceMethod<&OrchidMpi::Gatherv>("gatherv", attr),
                           InstanceMethod<&OrchidMpi::Allgatherv>("allgatherv", attr),
                           InstanceMethod<&OrchidMpi::Scatterv>("scatterv", attr),
                           InstanceMethod<&OrchidMpi::Alltoallv>("alltoallv", attr),
                           InstanceMethod<&OrchidMpi::Split>("split", attr),
                           InstanceMethod<&OrchidMpi::CommInfo>("commInfo", attr),
                           InstanceMethod<&OrchidMpi::Finalize>("finalize", attr),
                           InstanceMethod<&OrchidMpi::Abort>("abort", attr),
                           InstanceMethod<&OrchidMpi::Stats>("stats", attr),
                           InstanceMethod<&OrchidMpi::Version>("version", attr),
                           InstanceMethod<&OrchidMpi::Alloc>("alloc", attr),
                           InstanceMethod<&OrchidMpi::Abi>("abi", attr),
#ifdef OPEN_MPI
                           InstanceValue("flavor", Napi::String::New(env, "openmpi"), attr),
#elif defined(MPICH)
                           InstanceValue("flavor", Napi::String::New(env, "mpich"), attr),
#else
                           InstanceValue("flavor", Napi::String::New(env, "unknown"), attr),
#endif
                       });
}

MPI_Comm OrchidMpi::commOf(Napi::Env env, const Napi::Value& v) {
  if (!owner_) Throw(env, session.initialised ? "MPI belongs to the thread of this process that initialised it" : "MPI is not initialised (init first)");
  uint32_t h = v.As<Napi::Number>().Uint32Value();
  if (h >= session.comms.size() || session.comms[h] == MPI_COMM_NULL) Throw(env, "bad communicator handle");
  return session.comms[h];
}

// init(complete, status, spinUs?, pollUs?, idleSpinUs?) -> {rank, size, tagUb, thread, processor, library}
// status: an Int32Array(4) the fast path of recv writes [source, tag, elem, bytes] into
Napi::Value OrchidMpi::Initialize(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  JsLock lk;
  if (session.initialised) Throw(env, "MPI is already initialised");
  complete_ = Napi::Persistent(info[0].As<Napi::Function>());
  auto status = info[1].As<Napi::Int32Array>();
  if (status.ElementLength() < 4) Throw(env, "init: the status array holds 4 int32");
  status_ = status.Data();
  statusRef_ = Napi::Persistent(status);
  auto us = [&](size_t i, std::chrono::nanoseconds& into) {
    if (info.Length() > i && info[i].IsNumber()) into = std::chrono::nanoseconds((int64_t)(info[i].As<Napi::Number>().DoubleValue() * 1000));
  };
  us(2, progress.spinBudget);
  us(3, progress.spinPoll);
  us(4, progress.idleSpin);
  int flag = 0;
  MPI_Initialized(&flag);
  if (!flag) {
    int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &session.provided);
    check(env, rc, "MPI_Init_thread");
  } else {
    MPI_Query_thread(&session.provided);
  }
  if (session.provided < MPI_THREAD_SERIALIZED) Throw(env, "the MPI library provides neither MPI_THREAD_MULTIPLE nor MPI_THREAD_SERIALIZED");
  session.multiple = session.provided >= MPI_THREAD_MULTIPLE;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  void* ub = nullptr;
  MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &ub, &flag);
  session.tagUb = flag ? *static_cast<int*>(ub) : 32767;
  session.comms.push_back(MPI_COMM_WORLD);
  MPI_Comm shadow;
  check(env, MPI_Comm_dup(MPI_COMM_WORLD, &shadow), "MPI_Comm_dup");
  session.shadows.push_back(shadow);
  session.smallReduce.create();
  session.jsMinMax.create();
  session.initialised = true;
  owner_ = true;
  progress.deliver = Napi::ThreadSafeFunction::New(
      env, Napi::Function::New(env, [](const Napi::CallbackInfo& i) { i.Env().GetInstanceData<OrchidMpi>()->deliver(i.Env()); }),
      "orchid-mpi", 0, 1);
  progress.deliver.Unref(env);
  startProgress();
  if (progress.idleSpin.count() > 0) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) == napi_ok && loop) {
      idle_ = new uv_prepare_t;
      uv_prepare_init(loop, idle_);
      idle_->data = this;
      uv_prepare_start(idle_, pollIdle);
      uv_unref(reinterpret_cast<uv_handle_t*>(idle_));  // it does not keep the process alive
    }
  }
  atexit([]() {
    if (!session.finalised) stopProgress();
  });
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  char name[MPI_MAX_PROCESSOR_NAME];
  int nlen = 0;
  MPI_Get_processor_name(name, &nlen);
  char lib[MPI_MAX_LIBRARY_VERSION_STRING];
  int llen = 0;
  MPI_Get_library_version(lib, &llen);
  auto out = Napi::Object::New(env);
  out.Set("rank", rank);
  out.Set("size", size);
  out.Set("tagUb", session.tagUb);
  out.Set("thread", session.multiple ? "multiple" : "serialized");
  out.Set("processor", std::string(name, nlen));
  out.Set("library", std::string(lib, llen));
  return out;
}

void OrchidMpi::pollIdle(uv_prepare_t* h) {
  int timeoutMs = uv_backend_timeout(h->loop);
  if (timeoutMs == 0) return;  // the loop has work at once (immediates, closing handles)
  if (session.finalised || progress.callScheduled.load()) return;
  JsLock lk;
  if (!anyPending() || !progress.done.empty()) return;
  auto budget = progress.idleSpin;
  if (timeoutMs > 0) budget = std::min<std::chrono::nanoseconds>(budget, std::chrono::milliseconds(timeoutMs));
  auto end = Clock::now() + budget;
  do {
    if (pollOnce()) {
      schedule();  // the loop's poll sees the async handle ready and delivers in this turn
      return;
    }
  } while (Clock::now() < end && anyPending());
}

void OrchidMpi::stopIdlePoll() {
  if (!idle_) return;
  uv_prepare_stop(idle_);
  uv_close(reinterpret_cast<uv_handle_t*>(idle_), [](uv_handle_t* h) { delete reinterpret_cast<uv_prepare_t*>(h); });
  idle_ = nullptr;
}

Napi::Value OrchidMpi::Finalize(const Napi::CallbackInfo& info) {
  if (!owner_ || session.finalised) return info.Env().Undefined();
  stopIdlePoll();
  stopProgress();
  session.finalised = true;
  session.smallReduce.free();
  session.jsMinMax.free();
  MPI_Finalize();
  progress.deliver.Release();
  return info.Env().Undefined();
}

// leave(comm, states): a process that ends without finalize() takes part in the finalize
// agreement (MPI_Iallgather of one int32 per rank on `comm`, see MpiBackend.finalize) with
// state 1, blocking: its event loop no longer runs. `states` gets every rank's state.
Napi::Value OrchidMpi::Leave(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  MPI_Comm c;
  {
    JsLock lk;
    c = commOf(env, info[0]);
  }
  int32_t* out = info[1].As<Napi::Int32Array>().Data();
  stopIdlePoll();
  stopProgress();  // nothing else runs now; MPI is ours alone
  int32_t mine = 1;
  // nonblocking, as the others' (a blocking collective never matches a nonblocking one)
  MPI_Request r;
  check(env, MPI_Iallgather(&mine, 1, MPI_INT32_T, out, 1, MPI_INT32_T, c, &r), "MPI_Iallgather (finalize)");
  check(env, MPI_Wait(&r, MPI_STATUS_IGNORE), "MPI_Wait (finalize)");
  return env.Undefined();
}

// abort(code): MPI_Abort on the world; does not return
Napi::Value OrchidMpi::Abort(const Napi::CallbackInfo& info) {
  int code = info[0].As<Napi::Number>().Int32Value();
  MPI_Abort(MPI_COMM_WORLD, code);
  return info.Env().Undefined();
}

// split(comm, color, key, shared) -> id (the completion brings the new handle or null)
Napi::Value OrchidMpi::Split(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  JsLock lk;
  commOf(env, info[0]);
  Pending* p = newPending(Action::Split);
  p->comm = info[0].As<Napi::Number>().Uint32Value();
  p->color = info[1].As<Napi::Number>().Int32Value();
  p->key = info[2].As<Napi::Number>().Int32Value();
  p->splitType = info[3].ToBoolean() ? 1 : 0;
  progress.jobs.push_back(p);
  wake();
  return Napi::Number::New(env, p->id);
}

// commInfo(comm) -> [rank, size]
Napi::Value OrchidMpi::CommInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  JsLock lk;
  MPI_Comm c = commOf(env, info[0]);
  int r, s;
  MPI_Comm_rank(c, &r);
  MPI_Comm_size(c, &s);
  auto out = Napi::Array::New(env, 2);
  out.Set(0u, r);
  out.Set(1u, s);
  return out;
}

Napi::Value OrchidMpi::Stats(const Napi::CallbackInfo& info) {
  JsLock lk;
  auto out = Napi::Object::New(info.Env());
  out.Set("active", (double)progress.active.size());
  out.Set("waiting", (double)progress.waiting.size());
  out.Set("payloads", (double)progress.payloads.size());
  out.Set("poolHits", (double)bufferPool.hits());
  out.Set("poolMisses", (double)bufferPool.misses());
  out.Set("collectives", (double)progress.collectives);
  return out;
}

// alloc(bytes) -> an ArrayBuffer from the pool of recycled buffers (for collective results:
// its pages are mapped already; the content is whatever was there, so MPI must write it all)
Napi::Value OrchidMpi::Alloc(const Napi::CallbackInfo& info) {
  size_t n = static_cast<size_t>(info[0].As<Napi::Number>().DoubleValue());
  if (n == 0) return Napi::ArrayBuffer::New(info.Env(), 0);
  char* p = bufferPool.take(n);
  if (!p) Throw(info.Env(), "alloc: out of memory");
  return pooledArrayBuffer(info.Env(), p, n);
}

Napi::Value OrchidMpi::Version(const Napi::CallbackInfo& info) {
  char lib[MPI_MAX_LIBRARY_VERSION_STRING];
  int llen = 0;
  MPI_Get_library_version(lib, &llen);
  return Napi::String::New(info.Env(), std::string(lib, llen));
}

// abi() -> the element kinds, op codes and small-allreduce layout this addon was built with
Napi::Value OrchidMpi::Abi(const Napi::CallbackInfo& info) { return abiView(info.Env()); }

Napi::Value OrchidMpi::resultOf(Napi::Env env, Pending* p) {
  switch (p->action) {
    case Action::Recv: return messageOf(env, p);
    case Action::Probe: {
      auto out = Napi::Array::New(env, 3);
      out.Set(0u, p->rsrc);
      out.Set(1u, p->rtag);
      out.Set(2u, static_cast<double>(p->len));
      return out;
    }
    case Action::Split: {
      if (p->newComm == MPI_COMM_NULL) return env.Null();
      JsLock lk;  // the progress thread reads `comms`
      session.comms.push_back(p->newComm);
      session.shadows.push_back(p->newShadow);
      return Napi::Number::New(env, session.comms.size() - 1);
    }
    default: return env.Undefined();
  }
}

void OrchidMpi::deliver(Napi::Env env) {
  progress.callScheduled.store(false);
  std::deque<Pending*> batch;
  {
    JsLock lk;
    batch.swap(progress.done);
  }
  Napi::Function cb = complete_.Value();
  for (Pending* p : batch) {
    if (p->notify) {
      Napi::Value err = env.Null();
      Napi::Value res = env.Undefined();
      if (p->rc != MPI_SUCCESS) err = Napi::String::New(env, mpiError(p->rc));
      else res = resultOf(env, p);
      cb.Call({Napi::Number::New(env, p->id), err, res});
    }
    p->releaseData();
    delete p;
  }
}

}  // namespace orchid

using orchid::OrchidMpi;
NODE_API_NAMED_ADDON(orchid_mpi, OrchidMpi)
