// orchid native transport: a node-addon-api addon over libmpi (MPICH or Open MPI).
//
// Threading (see native/README.md):
//   * MPI is initialised with MPI_THREAD_MULTIPLE when the library provides it, else
//     MPI_THREAD_SERIALIZED is the minimum accepted. One mutex (`mu`) guards the addon's
//     state and every nonblocking MPI call, so at most one thread is inside MPI at a time
//     for those calls (this is all SERIALIZED needs); blocking communicator constructors
//     (MPI_Comm_split / split_type) run on the progress thread, without the mutex when
//     MULTIPLE is available.
//   * The JS thread starts every operation with a nonblocking MPI call (MPI_Isend,
//     MPI_Improbe/MPI_Imrecv, MPI_Ibcast, MPI_Iallreduce, …) and immediately tests it once:
//     small operations usually complete right there and the result goes back synchronously
//     (the fast path, no thread hop).
//   * Everything else is handed to one progress thread that polls (MPI_Test / MPI_Improbe,
//     spinning, then yielding, then sleeping with backoff) and reports completions through
//     one Napi::ThreadSafeFunction; the event loop never waits on MPI.
//   * Typed arrays are passed by pointer. The JS side keeps every array an operation
//     uses referenced until the operation completes; N-API's typed-array info externalises
//     V8's on-heap arrays first, so the pointer stays valid and the memory does not move.
//   * A small message (payload <= SMALL) is one MPI message: an 8-byte header (magic +
//     element kind) and a copy of the payload. A large one is two: a 4-byte header (another
//     magic + the kind; 4 bytes, so a probe tells it from a small message by its size) on the
//     communicator, and the payload, contiguous from the caller's memory, with the same tag
//     on a shadow duplicate of the communicator. Both ends then hand MPI plain contiguous
//     bytes, which every MPI moves by its zero-copy path (an hindexed datatype over {header,
//     payload}, used before, is as fast under MPICH/UCX but Open MPI's ob1/vader packs it:
//     a 4 MiB C ping-pong takes about 1.7x as long with it).
//     Headers are matched first, in MPI's order; the payload of a matched header is the next
//     one from that source with that tag on the shadow (sent in pairs, under the mutex, and
//     taken in header order), received into a buffer of exactly its size that JS gets as an
//     external ArrayBuffer (no copy).
#include <mpi.h>
#include <napi.h>

#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <list>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

constexpr uint32_t MAGIC = 0x4f524300u;  // "ORC\0" | element kind
constexpr size_t HDR = 8;
constexpr size_t SMALL = 8192;  // at or below: one message, payload copied behind the header
constexpr uint32_t LMAGIC = 0x4f524c00u;  // "ORL\0" | element kind: a large message's header
constexpr int LHDR = 4;

enum Kind { K_REQ, K_RECV, K_PROBE, K_SPLIT };

struct Op {
  uint32_t id = 0;
  Kind kind = K_REQ;
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
  bool small = false;    // received into `data` with the header in front (copy out)
  bool large = false;    // header received; the payload comes on the shadow communicator
  char* into = nullptr;  // recvInto: the caller's memory, `cap` bytes, for a payload of kind `wantElem`
  size_t cap = 0;
  int wantElem = -1;
  bool wrote = false;    // the payload went into `into` (no buffer for JS)
  std::vector<char> own; // owned copy of a small send
  // split
  int color = 0, key = 0, splitType = 0;
  MPI_Comm newComm = MPI_COMM_NULL, newShadow = MPI_COMM_NULL;
  int rc = MPI_SUCCESS;
};

std::mutex mu;
// The JS thread must never wait long for `mu`: it announces itself and the progress thread,
// which otherwise re-takes the (unfair) mutex right after releasing it, steps aside.
std::atomic<int> jsWants{0};
struct JsLock {
  JsLock() {
    jsWants.fetch_add(1);
    mu.lock();
    jsWants.fetch_sub(1);
  }
  ~JsLock() { mu.unlock(); }
  JsLock(const JsLock&) = delete;
  JsLock& operator=(const JsLock&) = delete;
};
std::condition_variable cv;
bool initialised = false, finalised = false, multiple = false, stopping = false;
int provided = 0, tagUb = 0;
std::vector<MPI_Comm> comms;
std::vector<MPI_Comm> shadows;  // a duplicate of each communicator: large payloads travel there
std::list<Op*> active;    // requests in flight (K_REQ, receives after matching)
std::list<Op*> waiting;   // receives / probes not matched yet, in posting order
std::list<Op*> payloads;  // large receives whose header matched, their payload not yet, in match order
std::deque<Op*> jobs;     // blocking communicator constructors
std::deque<Op*> done;     // completed, to report on the JS thread
std::atomic<bool> callScheduled{false};
std::atomic<uint64_t> wakeups{0};
uint32_t nextId = 1;
// how long the JS thread may poll an operation it just started before handing it to the
// progress thread (ORCHID_MPI_SPIN_US; the event loop is held at most this long per call)
std::chrono::nanoseconds spinBudget{std::chrono::microseconds(50)};
using Clock = std::chrono::steady_clock;
// how long the progress thread polls without yielding once nothing progresses (ORCHID_MPI_POLL_US)
std::chrono::nanoseconds spinPoll{std::chrono::microseconds(1000)};
std::thread* progress = nullptr;  // never destroyed: a joinable std::thread at exit would abort
Napi::ThreadSafeFunction tsfn;
Napi::FunctionReference completeCb;

// Large receive buffers are recycled: a buffer JS has dropped (its ArrayBuffer was collected)
// goes back here and the next receive of exactly that size reuses it, so its pages are
// already mapped (a fresh multi-megabyte malloc costs a page fault per 4 KiB page).
constexpr size_t POOL_MIN = 64 * 1024, POOL_MAX = 64u << 20;
std::mutex poolMu;
std::multimap<size_t, char*> pool;
size_t poolBytes = 0;

std::atomic<uint64_t> poolHits{0}, poolMisses{0};

char* allocBuffer(size_t n) {
  if (n >= POOL_MIN) {
    std::lock_guard<std::mutex> lk(poolMu);
    auto it = pool.find(n);
    if (it == pool.end()) poolMisses++;
    else {
      poolHits++;
      char* p = it->second;
      pool.erase(it);
      poolBytes -= n;
      return p;
    }
  }
  return static_cast<char*>(malloc(n));
}

void releaseBuffer(char* p, size_t n) {
  if (!p) return;
  if (n >= POOL_MIN && n <= POOL_MAX) {
    std::lock_guard<std::mutex> lk(poolMu);
    // the buffer just dropped is the likeliest to be wanted next: make room for it by
    // freeing older ones of other sizes (a program that moves from 4 MiB messages to 8 MB
    // results must not find the pool full of the old size)
    for (auto it = pool.begin(); poolBytes + n > POOL_MAX && it != pool.end();) {
      if (it->first == n) {
        ++it;
        continue;
      }
      free(it->second);
      poolBytes -= it->first;
      it = pool.erase(it);
    }
    if (poolBytes + n <= POOL_MAX) {
      pool.emplace(n, p);
      poolBytes += n;
      return;
    }
  }
  free(p);
}

std::string mpiError(int rc) {
  char s[MPI_MAX_ERROR_STRING];
  int n = 0;
  MPI_Error_string(rc, s, &n);
  return std::string(s, n);
}

void Throw(Napi::Env env, const std::string& m) { throw Napi::Error::New(env, m); }

void check(Napi::Env env, int rc, const char* what) {
  if (rc != MPI_SUCCESS) Throw(env, std::string(what) + ": " + mpiError(rc));
}

MPI_Comm commOf(Napi::Env env, const Napi::Value& v) {
  uint32_t h = v.As<Napi::Number>().Uint32Value();
  if (h >= comms.size() || comms[h] == MPI_COMM_NULL) Throw(env, "bad communicator handle");
  return comms[h];
}

struct Bytes {
  char* p;
  size_t n;
};

Bytes bytesOf(const Napi::Value& v) {
  if (v.IsTypedArray()) {
    auto t = v.As<Napi::TypedArray>();
    auto ab = t.ArrayBuffer();
    return {static_cast<char*>(ab.Data()) + t.ByteOffset(), t.ByteLength()};
  }
  if (v.IsArrayBuffer()) {
    auto ab = v.As<Napi::ArrayBuffer>();
    return {static_cast<char*>(ab.Data()), ab.ByteLength()};
  }
  return {nullptr, 0};
}

MPI_Datatype dtypeOf(int elem) {
  switch (elem) {
    case 1: return MPI_INT8_T;
    case 2: case 3: case 12: return MPI_UINT8_T;
    case 4: return MPI_INT16_T;
    case 5: return MPI_UINT16_T;
    case 6: return MPI_INT32_T;
    case 7: return MPI_UINT32_T;
    case 8: return MPI_FLOAT;
    case 9: return MPI_DOUBLE;
    case 10: return MPI_INT64_T;
    case 11: return MPI_UINT64_T;
    case 100: return MPI_BYTE;
    default: return MPI_DATATYPE_NULL;
  }
}

MPI_Op opOf(int op) {
  switch (op) {
    case 0: return MPI_SUM;
    case 1: return MPI_PROD;
    case 2: return MPI_MIN;
    case 3: return MPI_MAX;
    case 4: return MPI_LAND;
    case 5: return MPI_LOR;
    case 6: return MPI_LXOR;
    case 7: return MPI_BAND;
    case 8: return MPI_BOR;
    case 9: return MPI_BXOR;
    default: return MPI_OP_NULL;
  }
}

// ---- small typed-array allreduce in one MPI call ----
// A block is a 32-byte header {len, -len, kind, -kind, op, error, -op, 0} (combined with MAX,
// so every rank learns whether lengths, kinds and ops agreed) followed by up to 128 bytes of
// elements combined with the op. One MPI_Iallreduce with a user-defined MPI_Op replaces the
// length agreement round plus the data round.
constexpr int SR_HDR = 32, SR_DATA = 128, SR_BLOCK = SR_HDR + SR_DATA;
MPI_Datatype srType = MPI_DATATYPE_NULL;
MPI_Op srOp = MPI_OP_NULL;

template <typename T>
void srApply(int op, const T* in, T* io, int n) {
  for (int i = 0; i < n; i++) {
    T a = in[i], b = io[i];
    switch (op) {
      case 0: io[i] = a + b; break;
      case 1: io[i] = a * b; break;
      case 2: io[i] = a < b ? a : b; break;
      case 3: io[i] = a > b ? a : b; break;
      case 4: io[i] = (a && b) ? 1 : 0; break;
      case 5: io[i] = (a || b) ? 1 : 0; break;
      case 6: io[i] = (!a != !b) ? 1 : 0; break;
      default:
        if constexpr (std::is_integral_v<T>) {
          if (op == 7) io[i] = a & b;
          else if (op == 8) io[i] = a | b;
          else if (op == 9) io[i] = a ^ b;
        }
    }
  }
}

void srCombine(void* invec, void* inoutvec, int* count, MPI_Datatype*) {
  for (int k = 0; k < *count; k++) {
    auto* in = static_cast<char*>(invec) + k * SR_BLOCK;
    auto* io = static_cast<char*>(inoutvec) + k * SR_BLOCK;
    int32_t hi[8], ho[8];
    memcpy(hi, in, SR_HDR);
    memcpy(ho, io, SR_HDR);
    bool same = memcmp(hi, ho, 7 * sizeof(int32_t)) == 0 && !hi[5] && hi[0] == -hi[1] && hi[2] == -hi[3] && hi[4] == -hi[6];
    if (same) {
      int n = hi[0], op = hi[4];
      char* di = in + SR_HDR;
      char* dio = io + SR_HDR;
      switch (hi[2]) {
        case 1: srApply(op, (int8_t*)di, (int8_t*)dio, n); break;
        case 2: srApply(op, (uint8_t*)di, (uint8_t*)dio, n); break;
        case 4: srApply(op, (int16_t*)di, (int16_t*)dio, n); break;
        case 5: srApply(op, (uint16_t*)di, (uint16_t*)dio, n); break;
        case 6: srApply(op, (int32_t*)di, (int32_t*)dio, n); break;
        case 7: srApply(op, (uint32_t*)di, (uint32_t*)dio, n); break;
        case 8: srApply(op, (float*)di, (float*)dio, n); break;
        case 9: srApply(op, (double*)di, (double*)dio, n); break;
        case 10: srApply(op, (int64_t*)di, (int64_t*)dio, n); break;
        case 11: srApply(op, (uint64_t*)di, (uint64_t*)dio, n); break;
      }
    }
    for (int j = 0; j < 8; j++) ho[j] = hi[j] > ho[j] ? hi[j] : ho[j];
    memcpy(io, ho, SR_HDR);
  }
}

// ---- completion delivery ----

void schedule() {
  if (!callScheduled.exchange(true)) tsfn.NonBlockingCall();
}

// An ArrayBuffer over `p` (from allocBuffer) that returns it to the pool when collected.
// An external backing store: V8 counts its bytes as external memory by itself, so dropped
// buffers are collected, and come back to the pool, at the pace they are made. (An
// AdjustExternalMemory on top counted them twice and doubled the GC work: 4 MiB ping-pong
// 1.3-1.5 ms -> 1.0 ms without it.) The JS side lets large results pass through the event
// loop, where node frees dropped ones (backend.ts).
Napi::ArrayBuffer pooledArrayBuffer(Napi::Env env, char* p, size_t n) {
  return Napi::ArrayBuffer::New(
      env, p, n,
      [](Napi::Env, void* q, size_t* len) {
        releaseBuffer(static_cast<char*>(q), *len);
        delete len;
      },
      new size_t(n));
}

Napi::Value messageOf(Napi::Env env, Op* op) {
  // [source, tag, elem, ArrayBuffer]
  auto out = Napi::Array::New(env, 4);
  out.Set(0u, op->rsrc);
  out.Set(1u, op->rtag);
  out.Set(2u, static_cast<double>(op->hdr[0]));
  if (op->wrote) {
    out.Set(3u, static_cast<double>(op->len));
    return out;
  }
  Napi::ArrayBuffer ab;
  if (op->len == 0) {
    ab = Napi::ArrayBuffer::New(env, 0);
    free(op->data);
  } else if (op->small) {
    ab = Napi::ArrayBuffer::New(env, op->len);
    memcpy(ab.Data(), op->data + HDR, op->len);
    free(op->data);
  } else {
    ab = pooledArrayBuffer(env, op->data, op->len);
  }
  op->data = nullptr;
  out.Set(3u, ab);
  return out;
}

Napi::Value resultOf(Napi::Env env, Op* op) {
  switch (op->kind) {
    case K_RECV: return messageOf(env, op);
    case K_PROBE: {
      auto out = Napi::Array::New(env, 3);
      out.Set(0u, op->rsrc);
      out.Set(1u, op->rtag);
      out.Set(2u, static_cast<double>(op->len));
      return out;
    }
    case K_SPLIT: {
      if (op->newComm == MPI_COMM_NULL) return env.Null();
      JsLock lk;  // the progress thread reads `comms`
      comms.push_back(op->newComm);
      shadows.push_back(op->newShadow);
      return Napi::Number::New(env, comms.size() - 1);
    }
    default: return env.Undefined();
  }
}

void deliver(Napi::Env env, Napi::Function) {
  callScheduled.store(false);
  std::deque<Op*> batch;
  {
    JsLock lk;
    batch.swap(done);
  }
  Napi::Function cb = completeCb.Value();
  for (Op* op : batch) {
    if (op->notify) {
      Napi::Value err = env.Null();
      Napi::Value res = env.Undefined();
      if (op->rc != MPI_SUCCESS) err = Napi::String::New(env, mpiError(op->rc));
      else res = resultOf(env, op);
      cb.Call({Napi::Number::New(env, op->id), err, res});
    }
    if (op->small) free(op->data);
    else releaseBuffer(op->data, op->len);
    delete op;
  }
}

// ---- matching of receives of unknown size ----

bool overlaps(const Op* a, const Op* b) {
  return a->comm == b->comm && (a->src == b->src || a->src == MPI_ANY_SOURCE || b->src == MPI_ANY_SOURCE) &&
         (a->tag == b->tag || a->tag == MPI_ANY_TAG || b->tag == MPI_ANY_TAG);
}

// Whether a large receive on (comm, src, tag) waits for its payload: then the next payload
// from there is that receive's, not a later header's.
bool payloadPending(int comm, int src, int tag) {
  for (Op* p : payloads)
    if (p->comm == comm && p->src == src && p->tag == tag) return true;
  return false;
}

// The payload size of the large message whose header is the next from (src, tag) on `comm`,
// if its payload has arrived (mu held). False: not known yet (in flight), or rc set.
bool payloadSize(int comm, int src, int tag, size_t* n, int* rc) {
  if (payloadPending(comm, src, tag)) return false;
  int flag = 0;
  MPI_Status st;
  *rc = MPI_Iprobe(src, tag, shadows[comm], &flag, &st);
  if (*rc != MPI_SUCCESS) return true;
  if (!flag) return false;
  int count = 0;
  MPI_Get_count(&st, MPI_BYTE, &count);
  *n = count;
  return true;
}

// Try to match `op` (mu held). Returns true when the op left the waiting state: matched
// (a probe has its result; a receive its request, or, for a large message, its header),
// or failed (rc).
bool tryMatch(Op* op) {
  MPI_Status st;
  int flag = 0;
  MPI_Comm c = comms[op->comm];
  if (op->kind == K_PROBE) {
    op->rc = MPI_Iprobe(op->src, op->tag, c, &flag, &st);
    if (op->rc != MPI_SUCCESS) return true;
    if (!flag) return false;
    int count = 0;
    MPI_Get_count(&st, MPI_BYTE, &count);
    if (count == LHDR) {
      size_t n = 0;
      if (!payloadSize(op->comm, st.MPI_SOURCE, st.MPI_TAG, &n, &op->rc)) return false;
      op->len = n;
    } else {
      op->len = count >= (int)HDR ? count - HDR : 0;
    }
    op->rsrc = st.MPI_SOURCE;
    op->rtag = st.MPI_TAG;
    return true;
  }
  op->rc = MPI_Improbe(op->src, op->tag, c, &flag, &op->msg, &st);
  if (op->rc != MPI_SUCCESS) return true;
  if (!flag) return false;
  int count = 0;
  MPI_Get_count(&st, MPI_BYTE, &count);
  op->rsrc = st.MPI_SOURCE;
  op->rtag = st.MPI_TAG;
  if (count == LHDR) {
    // 4 bytes, already here (matched): take the header now; the payload follows on the shadow
    op->rc = MPI_Mrecv(op->hdr, LHDR, MPI_BYTE, &op->msg, MPI_STATUS_IGNORE);
    op->large = true;
    op->src = op->rsrc;
    op->tag = op->rtag;
    return true;
  }
  size_t n = count >= (int)HDR ? count - HDR : 0;
  op->len = n;
  op->small = true;
  op->data = static_cast<char*>(malloc(n + HDR));
  op->rc = MPI_Imrecv(op->data, count, MPI_BYTE, &op->msg, &op->req);
  return true;
}

// A large receive's payload: probe the shadow for it and receive it, contiguous, into a
// buffer of exactly its size. True when started (or failed). mu held; `op` must be the first
// of `payloads` for its (comm, src, tag).
bool tryPayload(Op* op) {
  int flag = 0;
  MPI_Status st;
  MPI_Message msg;
  op->rc = MPI_Improbe(op->src, op->tag, shadows[op->comm], &flag, &msg, &st);
  if (op->rc != MPI_SUCCESS) return true;
  if (!flag) return false;
  int count = 0;
  MPI_Get_count(&st, MPI_BYTE, &count);
  op->len = count;
  if (op->into && static_cast<size_t>(count) <= op->cap && op->hdr[0] == op->wantElem) {
    op->wrote = true;
    op->rc = MPI_Imrecv(op->into, count, MPI_BYTE, &msg, &op->req);
    return true;
  }
  op->data = allocBuffer(count ? count : 1);
  op->rc = MPI_Imrecv(op->data, count, MPI_BYTE, &msg, &op->req);
  return true;
}

// Where a receive goes once it left `waiting` (mu held).
void placeMatched(Op* op) {
  if (op->rc != MPI_SUCCESS || op->kind == K_PROBE) done.push_back(op);
  else if (op->large && op->req == MPI_REQUEST_NULL) payloads.push_back(op);
  else active.push_back(op);
}

// A received message is complete: pull the header out of a small one.
void finishRecv(Op* op) {
  if (op->small && op->data) memcpy(op->hdr, op->data, HDR);
}

// Test an operation's requests; true when all are complete or one failed (rc).
bool testOp(Op* op) {
  int f1 = 1, f2 = 1;
  op->rc = MPI_Test(&op->req, &f1, MPI_STATUS_IGNORE);
  if (op->rc == MPI_SUCCESS && op->req2 != MPI_REQUEST_NULL) op->rc = MPI_Test(&op->req2, &f2, MPI_STATUS_IGNORE);
  return op->rc != MPI_SUCCESS || (f1 && f2);
}

// Try the ops of `list` in order; one that overlaps an earlier op still waiting there (an
// earlier op that `blocks`) waits its turn. mu held.
template <typename Try, typename Blocks>
bool matchInOrder(std::list<Op*>& list, Try attempt, Blocks blocks) {
  bool any = false;
  std::vector<Op*> blocked;
  for (auto it = list.begin(); it != list.end();) {
    Op* op = *it;
    bool skip = false;
    for (Op* b : blocked)
      if (overlaps(b, op)) skip = true;
    if (!skip && attempt(op)) {
      it = list.erase(it);
      any = true;
      placeMatched(op);
      continue;
    }
    if (blocks(op)) blocked.push_back(op);
    ++it;
  }
  return any;
}

// Receives and probes in posting order (MPI's order of posted receives; a probe blocks nobody).
bool matchWaiting() {
  return matchInOrder(waiting, tryMatch, [](Op* op) { return op->kind == K_RECV; });
}

// The payloads of matched large receives, in header order per (comm, src, tag).
bool matchPayloads() {
  return matchInOrder(payloads, tryPayload, [](Op*) { return true; });
}

bool testActive() {
  bool any = false;
  for (auto it = active.begin(); it != active.end();) {
    Op* op = *it;
    if (testOp(op)) {
      if (op->kind == K_RECV) finishRecv(op);
      it = active.erase(it);
      done.push_back(op);
      any = true;
    } else {
      ++it;
    }
  }
  return any;
}

void progressLoop() {
  unsigned idle = 0;
  uint64_t seen = 0;
  Clock::time_point idleSince = Clock::now();
  std::unique_lock<std::mutex> lk(mu);
  while (!stopping) {
    if (active.empty() && waiting.empty() && payloads.empty() && jobs.empty()) {
      cv.wait(lk);
      idle = 0;
      continue;
    }
    if (!jobs.empty()) {
      Op* op = jobs.front();
      jobs.pop_front();
      MPI_Comm c = comms[op->comm];
      if (multiple) lk.unlock();
      if (op->splitType) op->rc = MPI_Comm_split_type(c, MPI_COMM_TYPE_SHARED, op->key, MPI_INFO_NULL, &op->newComm);
      else op->rc = MPI_Comm_split(c, op->color < 0 ? MPI_UNDEFINED : op->color, op->key, &op->newComm);
      if (op->rc == MPI_SUCCESS && op->newComm != MPI_COMM_NULL) op->rc = MPI_Comm_dup(op->newComm, &op->newShadow);
      if (multiple) lk.lock();
      done.push_back(op);
      schedule();
      idle = 0;
      continue;
    }
    if (jsWants.load()) {
      lk.unlock();
      while (jsWants.load()) sched_yield();
      lk.lock();
      continue;
    }
    bool any = testActive();
    any = matchWaiting() || any;
    any = matchPayloads() || any;
    if (any) {
      schedule();
      idle = 0;
      continue;
    }
    uint64_t w = wakeups.load();
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
    if (quiet < spinPoll) {
      // nothing: straight back to MPI_Test
    } else if (quiet < std::chrono::milliseconds(5)) {
      sched_yield();
    } else {
      usleep(quiet < std::chrono::milliseconds(200) ? 50 : 500);
    }
    while (jsWants.load()) sched_yield();
    lk.lock();
  }
}

void wake() {
  wakeups.fetch_add(1);
  cv.notify_one();
}

// The fast path: poll `done` for up to the spin budget on the JS thread (mu held).
template <typename F>
bool spin(F done) {
  if (spinBudget.count() <= 0) return false;
  auto end = Clock::now() + spinBudget;
  do {
    if (done()) return true;
  } while (Clock::now() < end);
  return false;
}

void stopProgress();

// ---- exported functions ----

Napi::Value Init(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  JsLock lk;
  if (initialised) Throw(env, "MPI is already initialised");
  completeCb = Napi::Persistent(info[0].As<Napi::Function>());
  if (info.Length() > 1 && info[1].IsNumber()) spinBudget = std::chrono::nanoseconds((int64_t)(info[1].As<Napi::Number>().DoubleValue() * 1000));
  if (info.Length() > 2 && info[2].IsNumber()) spinPoll = std::chrono::nanoseconds((int64_t)(info[2].As<Napi::Number>().DoubleValue() * 1000));
  int flag = 0;
  MPI_Initialized(&flag);
  if (!flag) {
    int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
    check(env, rc, "MPI_Init_thread");
  } else {
    MPI_Query_thread(&provided);
  }
  if (provided < MPI_THREAD_SERIALIZED) Throw(env, "the MPI library provides neither MPI_THREAD_MULTIPLE nor MPI_THREAD_SERIALIZED");
  multiple = provided >= MPI_THREAD_MULTIPLE;
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  void* ub = nullptr;
  MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &ub, &flag);
  tagUb = flag ? *static_cast<int*>(ub) : 32767;
  comms.push_back(MPI_COMM_WORLD);
  MPI_Comm shadow;
  check(env, MPI_Comm_dup(MPI_COMM_WORLD, &shadow), "MPI_Comm_dup");
  shadows.push_back(shadow);
  MPI_Type_contiguous(SR_BLOCK, MPI_BYTE, &srType);
  MPI_Type_commit(&srType);
  MPI_Op_create(srCombine, 1, &srOp);
  initialised = true;
  tsfn = Napi::ThreadSafeFunction::New(
      env, Napi::Function::New(env, [](const Napi::CallbackInfo& i) { deliver(i.Env(), Napi::Function()); }), "orchid-mpi", 0, 1);
  tsfn.Unref(env);
  progress = new std::thread(progressLoop);
  atexit([]() {
    if (!finalised) stopProgress();
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
  out.Set("tagUb", tagUb);
  out.Set("thread", multiple ? "multiple" : "serialized");
  out.Set("processor", std::string(name, nlen));
  out.Set("library", std::string(lib, llen));
  return out;
}

Op* newOp(Kind k) {
  Op* op = new Op();
  op->id = nextId++;
  if (nextId == 0) nextId = 1;
  op->kind = k;
  return op;
}

// isend(comm, dest, tag, elem, bytes) -> 0 when complete (the data may be reused), else an id.
// Small payloads are copied (complete at once for the caller); large ones go by pointer.
Napi::Value Isend(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  JsLock lk;
  MPI_Comm c = commOf(env, info[0]);
  uint32_t h = info[0].As<Napi::Number>().Uint32Value();
  int dest = info[1].As<Napi::Number>().Int32Value();
  int tag = info[2].As<Napi::Number>().Int32Value();
  uint32_t elem = info[3].As<Napi::Number>().Uint32Value();
  Bytes b = bytesOf(info[4]);
  if (b.n > 0x7fffffffu) Throw(env, "MPI_Isend: a message is at most 2 GiB - 1 byte (MPI counts are int)");
  Op* op = newOp(K_REQ);
  int rc;
  if (b.n <= SMALL) {
    uint32_t h0 = MAGIC | (elem & 0xff);
    op->own.resize(HDR + b.n);
    memcpy(op->own.data(), &h0, 4);
    memset(op->own.data() + 4, 0, 4);
    if (b.n) memcpy(op->own.data() + HDR, b.p, b.n);
    rc = MPI_Isend(op->own.data(), (int)op->own.size(), MPI_BYTE, dest, tag, c, &op->req);
    op->notify = false;
  } else {
    uint32_t h0 = LMAGIC | (elem & 0xff);
    memcpy(op->hdr, &h0, LHDR);
    rc = MPI_Isend(op->hdr, LHDR, MPI_BYTE, dest, tag, c, &op->req);
    if (rc == MPI_SUCCESS) rc = MPI_Isend(b.p, (int)b.n, MPI_BYTE, dest, tag, shadows[h], &op->req2);
    if (rc != MPI_SUCCESS && op->req != MPI_REQUEST_NULL) {
      // the header went: MPI still reads op->hdr, so the op stays until that completes
      op->notify = false;
      active.push_back(op);
      wake();
      Throw(env, "MPI_Isend: " + mpiError(rc));
    }
  }
  if (rc != MPI_SUCCESS) {
    delete op;
    Throw(env, "MPI_Isend: " + mpiError(rc));
  }
  bool fin = testOp(op);
  if (!fin && op->notify) spin([&] { return testOp(op); });
  if (op->req == MPI_REQUEST_NULL && op->req2 == MPI_REQUEST_NULL) {
    delete op;
    return Napi::Number::New(env, 0);
  }
  uint32_t id = op->notify ? op->id : 0;
  active.push_back(op);
  wake();
  return Napi::Number::New(env, id);
}

bool blockedByEarlier(Op* op) {
  for (Op* w : waiting)
    if (w->kind == K_RECV && overlaps(w, op)) return true;
  return false;
}

// recv(comm, src, tag, probeOnly[, into, elem]) -> a result ([src, tag, elem, ArrayBuffer] or [src, tag, bytes]) when
// matched at once (fast path), else an id whose completion brings it.
Napi::Value Recv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  JsLock lk;
  uint32_t h = info[0].As<Napi::Number>().Uint32Value();
  commOf(env, info[0]);
  Op* op = newOp(info[3].ToBoolean() ? K_PROBE : K_RECV);
  op->comm = h;
  op->src = info[1].As<Napi::Number>().Int32Value();
  op->tag = info[2].As<Napi::Number>().Int32Value();
  if (op->src < 0) op->src = MPI_ANY_SOURCE;
  if (op->tag < 0) op->tag = MPI_ANY_TAG;
  if (info.Length() > 5 && info[4].IsTypedArray()) {
    Bytes b = bytesOf(info[4]);
    op->into = b.p;
    op->cap = b.n;
    op->wantElem = info[5].As<Napi::Number>().Int32Value();
  }
  if (!blockedByEarlier(op) && (tryMatch(op) || spin([&] { return tryMatch(op); }))) {
    auto fail = [&]() {
      std::string m = mpiError(op->rc);
      if (op->small) free(op->data);
      else releaseBuffer(op->data, op->len);
      delete op;
      Throw(env, m);
    };
    if (op->rc != MPI_SUCCESS) fail();
    if (op->kind == K_PROBE) {
      Napi::Value r = resultOf(env, op);
      delete op;
      return r;
    }
    if (op->large && !payloadPending(op->comm, op->src, op->tag) && (tryPayload(op) || spin([&] { return tryPayload(op); }))) {
      if (op->rc != MPI_SUCCESS) fail();
    }
    if (op->large && op->req == MPI_REQUEST_NULL) {
      payloads.push_back(op);
    } else {
      if (!testOp(op)) spin([&] { return testOp(op); });
      if (op->rc != MPI_SUCCESS) fail();
      if (op->req == MPI_REQUEST_NULL) {
        finishRecv(op);
        Napi::Value r = messageOf(env, op);
        delete op;
        return r;
      }
      active.push_back(op);
    }
  } else {
    waiting.push_back(op);
  }
  wake();
  return Napi::Number::New(env, op->id);
}

// iprobe(comm, src, tag) -> [src, tag, bytes] | undefined
Napi::Value Iprobe(const Napi::CallbackInfo& info) {
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

// Finish starting a request-based operation: test once (fast path) or hand it to the thread.
Napi::Value started(Napi::Env env, Op* op, int rc, const char* what) {
  if (rc != MPI_SUCCESS) {
    delete op;
    Throw(env, std::string(what) + ": " + mpiError(rc));
  }
  if (!testOp(op)) spin([&] { return testOp(op); });
  if (op->req == MPI_REQUEST_NULL) {
    delete op;
    return Napi::Number::New(env, 0);
  }
  active.push_back(op);
  wake();
  return Napi::Number::New(env, op->id);
}

const int* intsOf(const Napi::Value& v) {
  auto t = v.As<Napi::Int32Array>();
  return t.Data();
}

// coll(name, comm, ...) -> 0 when complete, else an id. Buffers are typed arrays (or ArrayBuffers);
// counts and displacements are Int32Arrays in units of `dtype`.
Napi::Value Coll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  JsLock lk;
  std::string name = info[0].As<Napi::String>().Utf8Value();
  MPI_Comm c = commOf(env, info[1]);
  Op* op = newOp(K_REQ);
  int rc = MPI_SUCCESS;
  auto num = [&](size_t i) { return info[i].As<Napi::Number>().Int32Value(); };
  auto dt = [&](size_t i) {
    MPI_Datatype d = dtypeOf(num(i));
    if (d == MPI_DATATYPE_NULL) Throw(env, "bad element kind");
    return d;
  };
  if (name == "barrier") {
    rc = MPI_Ibarrier(c, &op->req);
  } else if (name == "bcast") {  // buf, count, dtype, root
    Bytes b = bytesOf(info[2]);
    rc = MPI_Ibcast(b.p, num(3), dt(4), num(5), c, &op->req);
  } else if (name == "allreduce" || name == "scan" || name == "exscan") {  // send, recv, count, dtype, op
    Bytes s = bytesOf(info[2]), r = bytesOf(info[3]);
    MPI_Op o = opOf(num(6));
    if (name == "allreduce") rc = MPI_Iallreduce(s.p, r.p, num(4), dt(5), o, c, &op->req);
    else if (name == "scan") rc = MPI_Iscan(s.p, r.p, num(4), dt(5), o, c, &op->req);
    else rc = MPI_Iexscan(s.p, r.p, num(4), dt(5), o, c, &op->req);
  } else if (name == "smallAllreduce") {  // send block, recv block (SR_BLOCK bytes each)
    Bytes s = bytesOf(info[2]), r = bytesOf(info[3]);
    if (s.n < (size_t)SR_BLOCK || r.n < (size_t)SR_BLOCK) Throw(env, "smallAllreduce: blocks must be 160 bytes");
    rc = MPI_Iallreduce(s.p, r.p, 1, srType, srOp, c, &op->req);
  } else if (name == "reduce") {  // send, recv|null, count, dtype, op, root
    Bytes s = bytesOf(info[2]), r = bytesOf(info[3]);
    rc = MPI_Ireduce(s.p, r.p, num(4), dt(5), opOf(num(6)), num(7), c, &op->req);
  } else if (name == "allgather") {  // send, count, recv, dtype
    Bytes s = bytesOf(info[2]), r = bytesOf(info[4]);
    MPI_Datatype d = dt(5);
    rc = MPI_Iallgather(s.p, num(3), d, r.p, num(3), d, c, &op->req);
  } else if (name == "scatter") {  // send|null, count, recv, dtype, root
    Bytes s = bytesOf(info[2]), r = bytesOf(info[4]);
    MPI_Datatype d = dt(5);
    rc = MPI_Iscatter(s.p, num(3), d, r.p, num(3), d, num(6), c, &op->req);
  } else if (name == "alltoall") {  // send, count, recv, dtype
    Bytes s = bytesOf(info[2]), r = bytesOf(info[4]);
    MPI_Datatype d = dt(5);
    rc = MPI_Ialltoall(s.p, num(3), d, r.p, num(3), d, c, &op->req);
  } else if (name == "gatherv") {  // send, sendcount, recv|null, counts|null, displs|null, root (bytes)
    Bytes s = bytesOf(info[2]), r = bytesOf(info[4]);
    bool root = info[5].IsTypedArray();
    rc = MPI_Igatherv(s.p, num(3), MPI_BYTE, r.p, root ? intsOf(info[5]) : nullptr, root ? intsOf(info[6]) : nullptr, MPI_BYTE, num(7), c,
                      &op->req);
  } else if (name == "allgatherv") {  // send, sendcount, recv, counts, displs (bytes)
    Bytes s = bytesOf(info[2]), r = bytesOf(info[4]);
    rc = MPI_Iallgatherv(s.p, num(3), MPI_BYTE, r.p, intsOf(info[5]), intsOf(info[6]), MPI_BYTE, c, &op->req);
  } else if (name == "scatterv") {  // send|null, counts|null, displs|null, recv, recvcount, root (bytes)
    Bytes s = bytesOf(info[2]), r = bytesOf(info[5]);
    bool root = info[3].IsTypedArray();
    rc = MPI_Iscatterv(s.p, root ? intsOf(info[3]) : nullptr, root ? intsOf(info[4]) : nullptr, MPI_BYTE, r.p, num(6), MPI_BYTE, num(7), c,
                       &op->req);
  } else if (name == "alltoallv") {  // send, scounts, sdispls, recv, rcounts, rdispls (bytes)
    Bytes s = bytesOf(info[2]), r = bytesOf(info[5]);
    rc = MPI_Ialltoallv(s.p, intsOf(info[3]), intsOf(info[4]), MPI_BYTE, r.p, intsOf(info[6]), intsOf(info[7]), MPI_BYTE, c, &op->req);
  } else {
    delete op;
    Throw(env, "unknown collective " + name);
  }
  return started(env, op, rc, ("MPI_I" + name).c_str());
}

// split(comm, color, key, shared) -> id (the completion brings the new handle or null)
Napi::Value Split(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  JsLock lk;
  commOf(env, info[0]);
  Op* op = newOp(K_SPLIT);
  op->comm = info[0].As<Napi::Number>().Uint32Value();
  op->color = info[1].As<Napi::Number>().Int32Value();
  op->key = info[2].As<Napi::Number>().Int32Value();
  op->splitType = info[3].ToBoolean() ? 1 : 0;
  jobs.push_back(op);
  wake();
  return Napi::Number::New(env, op->id);
}

Napi::Value CommInfo(const Napi::CallbackInfo& info) {
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

void stopProgress() {
  {
    JsLock lk;
    stopping = true;
  }
  cv.notify_all();
  if (progress && progress->joinable() && progress->get_id() != std::this_thread::get_id()) progress->join();
}

Napi::Value Finalize(const Napi::CallbackInfo& info) {
  if (!initialised || finalised) return info.Env().Undefined();
  stopProgress();
  finalised = true;
  if (srOp != MPI_OP_NULL) MPI_Op_free(&srOp);
  if (srType != MPI_DATATYPE_NULL) MPI_Type_free(&srType);
  MPI_Finalize();
  tsfn.Release();
  return info.Env().Undefined();
}

Napi::Value Abort(const Napi::CallbackInfo& info) {
  int code = info[0].As<Napi::Number>().Int32Value();
  MPI_Abort(MPI_COMM_WORLD, code);
  return info.Env().Undefined();
}

Napi::Value Stats(const Napi::CallbackInfo& info) {
  JsLock lk;
  auto out = Napi::Object::New(info.Env());
  out.Set("active", (double)active.size());
  out.Set("waiting", (double)waiting.size());
  out.Set("payloads", (double)payloads.size());
  out.Set("poolHits", (double)poolHits.load());
  out.Set("poolMisses", (double)poolMisses.load());
  return out;
}

// alloc(bytes) -> an ArrayBuffer from the pool of recycled buffers (for collective results:
// its pages are mapped already; the content is whatever was there, so MPI must write it all)
Napi::Value Alloc(const Napi::CallbackInfo& info) {
  size_t n = static_cast<size_t>(info[0].As<Napi::Number>().DoubleValue());
  if (n == 0) return Napi::ArrayBuffer::New(info.Env(), 0);
  char* p = allocBuffer(n);
  if (!p) Throw(info.Env(), "alloc: out of memory");
  return pooledArrayBuffer(info.Env(), p, n);
}

Napi::Value Version(const Napi::CallbackInfo& info) {
  char lib[MPI_MAX_LIBRARY_VERSION_STRING];
  int llen = 0;
  MPI_Get_library_version(lib, &llen);
  return Napi::String::New(info.Env(), std::string(lib, llen));
}

Napi::Object Module(Napi::Env env, Napi::Object exports) {
  // process.exit() without finalize(): stop the progress thread before the process ends
  // (a joinable std::thread at exit would abort the process).
  env.AddCleanupHook([]() {
    if (initialised && !finalised) stopProgress();
  });
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("isend", Napi::Function::New(env, Isend));
  exports.Set("recv", Napi::Function::New(env, Recv));
  exports.Set("iprobe", Napi::Function::New(env, Iprobe));
  exports.Set("coll", Napi::Function::New(env, Coll));
  exports.Set("split", Napi::Function::New(env, Split));
  exports.Set("commInfo", Napi::Function::New(env, CommInfo));
  exports.Set("finalize", Napi::Function::New(env, Finalize));
  exports.Set("abort", Napi::Function::New(env, Abort));
  exports.Set("stats", Napi::Function::New(env, Stats));
  exports.Set("version", Napi::Function::New(env, Version));
  exports.Set("alloc", Napi::Function::New(env, Alloc));
#ifdef OPEN_MPI
  exports.Set("flavor", "openmpi");
#elif defined(MPICH)
  exports.Set("flavor", "mpich");
#else
  exports.Set("flavor", "unknown");
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(orchid_mpi, Module)
