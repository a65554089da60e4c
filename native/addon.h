// The addon's exports: one node-addon-api Addon instance per JS environment that loads it
// (src/transport/mpi/addon.ts declares them for TypeScript). MPI itself is process-wide
// (progress.h); the instance that called init() owns it, keeps the JS completion callback,
// and is the only one that may start operations.
#pragma once
#include <mpi.h>
#include <napi.h>
#include <uv.h>

#include "progress.h"

namespace orchid {

class OrchidMpi : public Napi::Addon<OrchidMpi> {
 public:
  OrchidMpi(Napi::Env env, Napi::Object exports);

 private:
  // lifecycle and communicators (addon.cc)
  Napi::Value Initialize(const Napi::CallbackInfo& info);  // "init" (Addon<T>::Init is the module's)
  Napi::Value Finalize(const Napi::CallbackInfo& info);
  Napi::Value Abort(const Napi::CallbackInfo& info);
  Napi::Value Leave(const Napi::CallbackInfo& info);
  Napi::Value Split(const Napi::CallbackInfo& info);
  Napi::Value CommInfo(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Alloc(const Napi::CallbackInfo& info);
  Napi::Value Version(const Napi::CallbackInfo& info);
  Napi::Value Abi(const Napi::CallbackInfo& info);
  // point to point (p2p.cc)
  Napi::Value Isend(const Napi::CallbackInfo& info);
  Napi::Value Recv(const Napi::CallbackInfo& info);
  Napi::Value Iprobe(const Napi::CallbackInfo& info);
  // collectives (collectives.cc)
  Napi::Value Barrier(const Napi::CallbackInfo& info);
  Napi::Value Bcast(const Napi::CallbackInfo& info);
  Napi::Value Allreduce(const Napi::CallbackInfo& info);
  Napi::Value Scan(const Napi::CallbackInfo& info);
  Napi::Value Exscan(const Napi::CallbackInfo& info);
  Napi::Value SmallAllreduce(const Napi::CallbackInfo& info);
  Napi::Value Reduce(const Napi::CallbackInfo& info);
  Napi::Value Allgather(const Napi::CallbackInfo& info);
  Napi::Value Scatter(const Napi::CallbackInfo& info);
  Napi::Value Alltoall(const Napi::CallbackInfo& info);
  Napi::Value Gatherv(const Napi::CallbackInfo& info);
  Napi::Value Allgatherv(const Napi::CallbackInfo& info);
  Napi::Value Scatterv(const Napi::CallbackInfo& info);
  Napi::Value Alltoallv(const Napi::CallbackInfo& info);

  // The communicator of handle `v` (mu held); throws unless this instance owns MPI.
  MPI_Comm commOf(Napi::Env env, const Napi::Value& v);
  // Start a request-based collective on info[0]'s communicator: `start(comm, &request)` makes
  // the nonblocking MPI call, then it is tested once (fast path) or handed to the thread.
  template <typename Start>
  Napi::Value collective(const Napi::CallbackInfo& info, const char* what, Start start);
  // Completed operations to JS (on the JS thread, through progress.deliver).
  void deliver(Napi::Env env);
  Napi::Value resultOf(Napi::Env env, Pending* p);

  // A receive or probe done at once (the fast path): its status into status_, and the payload
  // (an ArrayBuffer; null when it went into recvInto's memory or for a probe).
  Napi::Value fastResult(Napi::Env env, Pending* p);

  // The event loop is about to wait (a uv_prepare handle): with an operation pending, poll MPI
  // here on the JS thread for up to progress.idleSpin (or until the loop's next timer); what
  // completes is delivered in this loop turn. Waking the JS thread from the progress thread
  // (the thread-safe function) costs 10-50 us in this VM; that was the slow mode of a
  // bimodal ping-pong.
  static void pollIdle(uv_prepare_t* h);
  void stopIdlePoll();

  Napi::FunctionReference complete_;  // init's callback: (id, error, result)
  uv_prepare_t* idle_ = nullptr;      // pollIdle's handle (freed when libuv has closed it)
  Napi::Reference<Napi::Int32Array> statusRef_;  // init's status array: [source, tag, elem, bytes]
  int32_t* status_ = nullptr;
  bool owner_ = false;                // this instance called init()
};

// A received message's payload for JS: an ArrayBuffer, or null when it was written into recvInto's memory.
Napi::Value payloadOf(Napi::Env env, Pending* p);
// A received message for JS: [source, tag, elem, ArrayBuffer] ([…, bytes written] for recvInto).
Napi::Value messageOf(Napi::Env env, Pending* p);

}  // namespace orchid
