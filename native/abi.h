// The addon's side of the JS <-> C++ table (src/codec/abi.ts): element kinds, reduction op
// codes and the small-allreduce block. Each is one X-macro list; the switches, enums and the
// view that `abi()` reports to JS (checked against abi.ts when the addon loads) come from it.
#pragma once
#include <mpi.h>
#include <napi.h>

#include <cstdint>

namespace orchid {

// Element kinds: X(code, C type, MPI datatype, reduced by MPI). Kinds 3 (Uint8ClampedArray)
// and 12 (Buffer) move as bytes and are reduced in JS.
#define ORCHID_ELEMENT_KINDS(X)       \
  X(1, int8_t, MPI_INT8_T, true)      \
  X(2, uint8_t, MPI_UINT8_T, true)    \
  X(3, uint8_t, MPI_UINT8_T, false)   \
  X(4, int16_t, MPI_INT16_T, true)    \
  X(5, uint16_t, MPI_UINT16_T, true)  \
  X(6, int32_t, MPI_INT32_T, true)    \
  X(7, uint32_t, MPI_UINT32_T, true)  \
  X(8, float, MPI_FLOAT, true)        \
  X(9, double, MPI_DOUBLE, true)      \
  X(10, int64_t, MPI_INT64_T, true)   \
  X(11, uint64_t, MPI_UINT64_T, true) \
  X(12, uint8_t, MPI_UINT8_T, false)

// The datatype code of plain bytes (MPI_BYTE): msgpack values and mixed parts.
constexpr int ELEM_BYTES = 100;

// Reduction ops in code order: X(name, MPI's builtin op).
#define ORCHID_REDUCE_OPS(X) \
  X(sum, MPI_SUM)            \
  X(prod, MPI_PROD)          \
  X(min, MPI_MIN)            \
  X(max, MPI_MAX)            \
  X(land, MPI_LAND)          \
  X(lor, MPI_LOR)            \
  X(lxor, MPI_LXOR)          \
  X(band, MPI_BAND)          \
  X(bor, MPI_BOR)            \
  X(bxor, MPI_BXOR)

enum OpCode : int {
#define ORCHID_X(name, mpi) OP_##name,
  ORCHID_REDUCE_OPS(ORCHID_X)
#undef ORCHID_X
};

// The agreement block (small_reduce.h): a header of double fields, in this order, then the elements.
#define ORCHID_SMALL_REDUCE_FIELDS(X) X(sigHi) X(sigLo) X(len) X(negLen) X(error) X(kind) X(negKind) X(op) X(negOp)

enum SmallReduceField : int {
#define ORCHID_X(name) SR_##name,
  ORCHID_SMALL_REDUCE_FIELDS(ORCHID_X)
#undef ORCHID_X
  SR_FIELDS
};

constexpr int SR_HDR = 72, SR_DATA = 128, SR_BLOCK = SR_HDR + SR_DATA;
constexpr double SR_RANKS = 2097152.0;  // 2^21: the rank's place in sigHi, sigLo and error
static_assert(SR_FIELDS * sizeof(double) <= SR_HDR, "the agreement block's header holds its fields");
static_assert(SR_HDR % 8 == 0, "the elements after the header are aligned");

// The MPI datatype of an element kind (or ELEM_BYTES); MPI_DATATYPE_NULL for an unknown code.
MPI_Datatype datatypeOf(int code);
// MPI's builtin op for an op code; MPI_OP_NULL for an unknown code.
MPI_Op mpiOpOf(int code);
// This table as JS sees it: {elements: [{code, c, bytes, mpiReduces}], bytes, ops, smallReduce}.
Napi::Object abiView(Napi::Env env);

}  // namespace orchid
