// Large receive buffers and collective results are recycled: a buffer JS has dropped (its
// ArrayBuffer was collected) goes back to the pool and the next one of exactly that size
// reuses it, so its pages are already mapped (a fresh multi-megabyte malloc costs a page
// fault per 4 KiB page). One pool per process: buffers are taken on the progress thread and
// given back by V8's finalizers.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

namespace orchid {

class BufferPool {
 public:
  static constexpr size_t MIN = 64 * 1024;  // smaller buffers are plain malloc/free
  static constexpr size_t MAX = 64u << 20;  // bytes kept at most
  // From this size on a fresh buffer is 2 MiB-aligned and asks for transparent huge pages
  // (madvise MADV_HUGEPAGE): a first touch then costs a fault per 2 MiB instead of per 4 KiB.
  // In this VM a 4 KiB fault costs ~13 us, so a fresh 4 MiB buffer took ~13 ms to fill, and
  // with huge pages 0.2-0.6 ms (ORCHID_MPI_HUGEPAGES=0 turns it off).
  static constexpr size_t HUGE_MIN = 1u << 20;
  static constexpr size_t HUGE_PAGE = 2u << 20;

  // A buffer of `n` bytes (content undefined): a pooled one of exactly that size, else malloc.
  char* take(size_t n);
  // Back to the pool (or free): makes room by freeing buffers of other sizes first.
  void give(char* p, size_t n);
  uint64_t hits() const { return hits_.load(); }
  uint64_t misses() const { return misses_.load(); }

 private:
  char* fresh(size_t n);
  std::mutex mu_;
  int huge_ = -1;  // ORCHID_MPI_HUGEPAGES, read on first use
  std::multimap<size_t, char*> free_;
  size_t bytes_ = 0;
  std::atomic<uint64_t> hits_{0}, misses_{0};
};

extern BufferPool bufferPool;

// An ArrayBuffer over `p` (from bufferPool.take) that goes back to the pool when collected.
Napi::ArrayBuffer pooledArrayBuffer(Napi::Env env, char* p, size_t n);

}  // namespace orchid
