#include "progress.h"

#include <sched.h>
#include <unistd.h>

#include <cstdlib>

#include "buffer_pool.h"
#include "matching.h"

namespace orchid {

Session session;
Progress progress;

void Pending::releaseData() {
  if (small) free(data);
  else bufferPool.give(data, len);
  data = nullptr;
}

Pending* newPending(Action a) {
  Pending* p = new Pending();
  p->id = progress.nextId++;
  if (progress.nextId == 0) progress.nextId = 1;
  p->action = a;
  return p;
}

bool testPending(Pending* p) {
  int f1 = 1, f2 = 1;
  p->rc = MPI_Test(&p->req, &f1, MPI_STATUS_IGNORE);
  if (p->rc == MPI_SUCCESS && p->req2 != MPI_REQUEST_NULL) p->rc = MPI_Test(&p->req2, &f2, MPI_STATUS_IGNORE);
  return p->rc != MPI_SUCCESS || (f1 && f2);
}

void wake() {
  progress.wakeups.fetch_add(1);
  progress.cv.notify_one();
}

void schedule() {
  if (!progress.callScheduled.exchange(true)) progress.deliver.NonBlockingCall();
}

namespace {

bool testActive() {
  bool any = false;
  for (auto it = progress.active.begin(); it != progress.active.end();) {
    Pending* p = *it;
    if (testPending(p)) {
      if (p->action == Action::Recv) finishRecv(p);
      it = progress.active.erase(it);
      progress.done.push_back(p);
      any = true;
    } else {
      ++it;
    }
  }
  return any;
}

// A communicator constructor: blocking, so here rather than on the JS thread (without the
// mutex when MPI allows several threads in at once).
void runJob(std::unique_lock<std::mutex>& lk) {
  Pending* p = progress.jobs.front();
  progress.jobs.pop_front();
  MPI_Comm c = session.comms[p->comm];
  if (session.multiple) lk.unlock();
  if (p->splitType) p->rc = MPI_Comm_split_type(c, MPI_COMM_TYPE_SHARED, p->key, MPI_INFO_NULL, &p->newComm);
  else p->rc = MPI_Comm_split(c, p->color < 0 ? MPI_UNDEFINED : p->color, p->key, &p->newComm);
  if (p->rc == MPI_SUCCESS && p->newComm != MPI_COMM_NULL) p->rc = MPI_Comm_dup(p->newComm, &p->newShadow);
  if (session.multiple) lk.lock();
  progress.done.push_back(p);
  schedule();
}

}  // namespace

bool pollOnce() {
  bool any = testActive();
  any = matchWaiting() || any;
  return matchPayloads() || any;
}

bool anyPending() { return !(progress.active.empty() && progress.waiting.empty() && progress.payloads.empty()); }

namespace {

void progressLoop() {
  Progress& g = progress;
  unsigned idle = 0;
  uint64_t seen = 0;
  Clock::time_point idleSince = Clock::now();
  std::unique_lock<std::mutex> lk(g.mu);
  while (!g.stopping) {
    if (!anyPending() && g.jobs.empty()) {
      g.cv.wait(lk);
      idle = 0;
      continue;
    }
    if (!g.jobs.empty()) {
      runJob(lk);
      idle = 0;
      continue;
    }
    if (g.jsWants.load()) {
      lk.unlock();
      while (g.jsWants.load()) sched_yield();
      lk.lock();
      continue;
    }
    if (pollOnce()) {
      schedule();
      idle = 0;
      continue;
    }
    uint64_t w = g.wakeups.load();
    if (w != seen || idle == 0) {
      seen = w;
      idle = 1;
      idleSince = Clock::now();
    }
    // no progress: poll flat out for a while (as a C rank in MPI_Wait does: a large
    // rendezvous moves one fragment per MPI_Test, and a sched_yield() between them handed
    // the core to V8's GC threads for a timeslice), then yielding the core up to 5 ms, then
    // sleep a little between polls
    auto quiet = Clock::now() - idleSince;
    lk.unlock();
    if (quiet < g.spinPoll) {
      // nothing: straight back to MPI_Test
    } else if (quiet < std::chrono::milliseconds(5)) {
      sched_yield();
    } else {
      usleep(quiet < std::chrono::milliseconds(200) ? 50 : 500);
    }
    while (g.jsWants.load()) sched_yield();
    lk.lock();
  }
}

}  // namespace

void startProgress() { progress.thread = new std::thread(progressLoop); }

void stopProgress() {
  {
    JsLock lk;
    progress.stopping = true;
  }
  progress.cv.notify_all();
  std::thread* t = progress.thread;
  if (t && t->joinable() && t->get_id() != std::this_thread::get_id()) t->join();
}

}  // namespace orchid
