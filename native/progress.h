// The progress engine: the operations JS has started and MPI has not finished, the one
// progress thread that drives them, and the lock the JS thread shares with it.
//
// Threading (see native/README.md):
//   * MPI is initialised with MPI_THREAD_MULTIPLE when the library provides it, else
//     MPI_THREAD_SERIALIZED is the minimum accepted. One mutex (`Progress::mu`) guards the
//     addon's state and every nonblocking MPI call, so at most one thread is inside MPI at a
//     time for those calls (this is all SERIALIZED needs); blocking communicator
//     constructors (MPI_Comm_split / split_type) run on the progress thread, without the
//     mutex when MULTIPLE is available.
//   * The JS thread starts every operation with a nonblocking MPI call (MPI_Isend,
//     MPI_Improbe/MPI_Imrecv, MPI_Ibcast, MPI_Iallreduce, …) and immediately tests it once:
//     small operations usually complete right there and the result goes back synchronously
//     (the fast path, no thread hop).
//   * Everything else is handed to the progress thread, which polls (MPI_Test / MPI_Improbe,
//     spinning, then yielding, then sleeping with backoff) and reports completions through
//     one Napi::ThreadSafeFunction; the event loop never waits on MPI.
//
// MPI is initialised once per process, so this state is process-wide (the progress thread
// outlives any one call); what belongs to the JS environment that called init (its
// completion callback) is the addon instance's (addon.h).
#pragma once
#include <mpi.h>
#include <napi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "message.h"
#include "small_reduce.h"

namespace orchid {

// What a pending operation waits for.
enum class Action {
  Requests,  // its MPI requests (sends, collectives)
  Recv,      // a message: matched, then received
  Probe,     // a message: matched only
  Split,     // a communicator constructor, run on the progress thread
};

// One operation JS started and has not been told the end of: `id` is its key on the JS side
// (MpiProcess.pending); 0 means nobody is told.
struct Pending {
  uint32_t id = 0;
  Action action = Action::Requests;
  bool notify = true;
  MPI_Request req = MPI_REQUEST_NULL;
  MPI_Request req2 = MPI_REQUEST_NULL;  // a large send's payload
  // receive / probe
  int comm = 0, src = 0, tag = 0;
  MPI_Message msg = MPI_MESSAGE_NULL;
  uint8_t hdr[HDR] = {0};
  char* data = nullptr;  // received payload (malloc), ownership passes to JS
  size_t len = 0;
  int rsrc = 0, rtag = 0;
  bool small = false;     // received into `data` with the header in front (copy out)
  bool large = false;     // header received; the payload comes on the shadow communicator
  char* into = nullptr;   // recvInto: the caller's memory, `cap` bytes, for a payload of kind `wantElem`
  size_t cap = 0;
  int wantElem = -1;
  bool wrote = false;     // the payload went into `into` (no buffer for JS)
  std::vector<char> own;  // owned copy of a small send
  // split
  int color = 0, key = 0, splitType = 0;
  MPI_Comm newComm = MPI_COMM_NULL, newShadow = MPI_COMM_NULL;
  int rc = MPI_SUCCESS;

  // the received payload's memory back (to the pool for a large one)
  void releaseData();
};

// The process's MPI session: what MPI_Init and the communicator constructors made.
struct Session {
  bool initialised = false, finalised = false, multiple = false;
  int provided = 0, tagUb = 0;
  std::vector<MPI_Comm> comms;
  std::vector<MPI_Comm> shadows;  // a duplicate of each communicator: large payloads travel there
  SmallReduce smallReduce;
  JsMinMax jsMinMax;  // min/max on float kinds as JS's Math.min/Math.max (NaN, -0)
};

using Clock = std::chrono::steady_clock;

struct Progress {
  std::mutex mu;
  // The JS thread must never wait long for `mu`: it announces itself and the progress
  // thread, which otherwise re-takes the (unfair) mutex right after releasing it, steps aside.
  std::atomic<int> jsWants{0};
  std::condition_variable cv;
  bool stopping = false;
  std::atomic<uint64_t> wakeups{0};
  uint64_t collectives = 0;  // collective MPI calls started (stats(): how many a Comm call costs)
  std::thread* thread = nullptr;  // never destroyed: a joinable std::thread at exit would abort
  uint32_t nextId = 1;
  // how long the JS thread may poll an operation it just started before handing it to the
  // progress thread (ORCHID_MPI_SPIN_US; the event loop is held at most this long per call)
  std::chrono::nanoseconds spinBudget{std::chrono::microseconds(50)};
  // how long the progress thread polls without yielding once nothing progresses (ORCHID_MPI_POLL_US)
  std::chrono::nanoseconds spinPoll{std::chrono::microseconds(1000)};
  // how long the JS thread polls MPI itself when its event loop is about to wait and an
  // operation is pending (ORCHID_MPI_IDLE_SPIN_US): a completion found there is delivered in
  // the same loop turn, without waking a sleeping thread (see pollIdle)
  std::chrono::nanoseconds idleSpin{std::chrono::microseconds(1000)};

  std::list<Pending*> active;    // requests in flight (sends, collectives, receives after matching)
  std::list<Pending*> waiting;   // receives / probes not matched yet, in posting order
  std::list<Pending*> payloads;  // large receives whose header matched, their payload not yet, in match order
  std::deque<Pending*> jobs;     // blocking communicator constructors
  std::deque<Pending*> done;     // completed, to report on the JS thread

  // completions go to JS through `deliver`: one call scheduled at a time
  Napi::ThreadSafeFunction deliver;
  std::atomic<bool> callScheduled{false};
};

extern Session session;
extern Progress progress;

// `progress.mu` taken by the JS thread (the progress thread steps aside).
struct JsLock {
  JsLock() {
    progress.jsWants.fetch_add(1);
    progress.mu.lock();
    progress.jsWants.fetch_sub(1);
  }
  ~JsLock() { progress.mu.unlock(); }
  JsLock(const JsLock&) = delete;
  JsLock& operator=(const JsLock&) = delete;
};

Pending* newPending(Action a);
void startProgress();
void stopProgress();
// the progress thread has something new to do
void wake();
// a completion is waiting in `done`: have `deliver` called on the JS thread
void schedule();
// Test an operation's requests; true when all are complete or one failed (rc). mu held.
bool testPending(Pending* p);
// One round over everything pending (requests in flight, receives to match, payloads): what
// finished goes to `done`; true when anything did. mu held.
bool pollOnce();
// Whether anything is pending at all. mu held.
bool anyPending();

// The fast path: poll `done` for up to the spin budget on the JS thread (mu held).
template <typename F>
bool spin(F done) {
  if (progress.spinBudget.count() <= 0) return false;
  auto end = Clock::now() + progress.spinBudget;
  do {
    if (done()) return true;
  } while (Clock::now() < end);
  return false;
}

}  // namespace orchid
