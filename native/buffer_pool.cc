#include "buffer_pool.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>

namespace orchid {

BufferPool bufferPool;

char* BufferPool::take(size_t n) {
  if (n >= MIN) {
    std::lock_guard<std::mutex> lk(mu_);
    auto it = free_.find(n);
    if (it == free_.end()) misses_++;
    else {
      hits_++;
      char* p = it->second;
      free_.erase(it);
      bytes_ -= n;
      return p;
    }
  }
  return fresh(n);
}

char* BufferPool::fresh(size_t n) {
  if (huge_ < 0) {
    const char* e = getenv("ORCHID_MPI_HUGEPAGES");
    huge_ = !(e && strcmp(e, "0") == 0);
  }
  if (!huge_ || n < HUGE_MIN) return static_cast<char*>(malloc(n));
  void* p = nullptr;
  size_t whole = (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
  if (posix_memalign(&p, HUGE_PAGE, whole) != 0) return nullptr;
#ifdef MADV_HUGEPAGE
  madvise(p, whole, MADV_HUGEPAGE);
#endif
  return static_cast<char*>(p);
}

void BufferPool::give(char* p, size_t n) {
  if (!p) return;
  if (n >= MIN && n <= MAX) {
    std::lock_guard<std::mutex> lk(mu_);
    // the buffer just dropped is the likeliest to be wanted next: make room for it by
    // freeing older ones of other sizes (a program that moves from 4 MiB messages to 8 MB
    // results must not find the pool full of the old size)
    for (auto it = free_.begin(); bytes_ + n > MAX && it != free_.end();) {
      if (it->first == n) {
        ++it;
        continue;
      }
      free(it->second);
      bytes_ -= it->first;
      it = free_.erase(it);
    }
    if (bytes_ + n <= MAX) {
      free_.emplace(n, p);
      bytes_ += n;
      return;
    }
  }
  free(p);
}

// An external backing store: V8 counts its bytes as external memory by itself, so dropped
// buffers are collected, and come back to the pool, at the pace they are made. (An
// AdjustExternalMemory on top counted them twice and doubled the GC work: 4 MiB ping-pong
// 1.3-1.5 ms -> 1.0 ms without it.) The JS side lets large results pass through the event
// loop, where node frees dropped ones (backend.ts).
Napi::ArrayBuffer pooledArrayBuffer(Napi::Env env, char* p, size_t n) {
  return Napi::ArrayBuffer::New(
      env, p, n,
      [](Napi::Env, void* q, size_t* len) {
        bufferPool.give(static_cast<char*>(q), *len);
        delete len;
      },
      new size_t(n));
}

}  // namespace orchid
