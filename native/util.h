// Small helpers for the exports: MPI errors as JS exceptions, and the memory behind a typed
// array or ArrayBuffer.
#pragma once
#include <mpi.h>
#include <napi.h>

#include <cstddef>
#include <string>

namespace orchid {

inline std::string mpiError(int rc) {
  char s[MPI_MAX_ERROR_STRING];
  int n = 0;
  MPI_Error_string(rc, s, &n);
  return std::string(s, n);
}

[[noreturn]] inline void Throw(Napi::Env env, const std::string& m) { throw Napi::Error::New(env, m); }

inline void check(Napi::Env env, int rc, const char* what) {
  if (rc != MPI_SUCCESS) Throw(env, std::string(what) + ": " + mpiError(rc));
}

struct Bytes {
  char* p;
  size_t n;
};

// A typed array's or ArrayBuffer's memory; {nullptr, 0} for anything else (null: a buffer
// MPI does not read on this rank).
inline Bytes bytesOf(const Napi::Value& v) {
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

}  // namespace orchid
