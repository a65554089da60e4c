#include "abi.h"

namespace orchid {

MPI_Datatype datatypeOf(int code) {
  switch (code) {
#define ORCHID_X(code, ctype, mpi, reduces) \
  case code: return mpi;
    ORCHID_ELEMENT_KINDS(ORCHID_X)
#undef ORCHID_X
    case ELEM_BYTES: return MPI_BYTE;
    default: return MPI_DATATYPE_NULL;
  }
}

MPI_Op mpiOpOf(int code) {
  switch (code) {
#define ORCHID_X(name, mpi) \
  case OP_##name: return mpi;
    ORCHID_REDUCE_OPS(ORCHID_X)
#undef ORCHID_X
    default: return MPI_OP_NULL;
  }
}

Napi::Object abiView(Napi::Env env) {
  auto elements = Napi::Array::New(env);
  auto element = [&](int code, const char* c, size_t bytes, bool reduces) {
    auto e = Napi::Object::New(env);
    e.Set("code", code);
    e.Set("c", c);
    e.Set("bytes", static_cast<double>(bytes));
    e.Set("mpiReduces", reduces);
    elements.Set(elements.Length(), e);
  };
#define ORCHID_X(code, ctype, mpi, reduces) element(code, #ctype, sizeof(ctype), reduces);
  ORCHID_ELEMENT_KINDS(ORCHID_X)
#undef ORCHID_X
  auto ops = Napi::Array::New(env);
#define ORCHID_X(name, mpi) ops.Set(static_cast<uint32_t>(OP_##name), #name);
  ORCHID_REDUCE_OPS(ORCHID_X)
#undef ORCHID_X
  auto fields = Napi::Array::New(env);
#define ORCHID_X(name) fields.Set(static_cast<uint32_t>(SR_##name), #name);
  ORCHID_SMALL_REDUCE_FIELDS(ORCHID_X)
#undef ORCHID_X
  auto sr = Napi::Object::New(env);
  sr.Set("headerBytes", SR_HDR);
  sr.Set("dataBytes", SR_DATA);
  sr.Set("fields", fields);
  auto out = Napi::Object::New(env);
  out.Set("elements", elements);
  out.Set("bytes", ELEM_BYTES);
  out.Set("ops", ops);
  out.Set("smallReduce", sr);
  return out;
}

}  // namespace orchid
