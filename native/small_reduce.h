// The agreement block: what every collective on the mpi transport starts with (one
// MPI_Iallreduce of one block with a user-defined MPI_Op). Its header (abi.h: SR_HDR bytes of
// doubles {sigHi, sigLo, len, negLen, error, kind, negKind, op, negOp}) is combined with MAX,
// so every rank learns whether the calls, lengths, kinds and ops agreed and whether a check
// failed; up to SR_DATA bytes of elements follow, combined with the op when they all agreed:
// a small allreduce is done in the same call.
#pragma once
#include <mpi.h>

#include <cmath>

namespace orchid {

struct SmallReduce {
  MPI_Datatype type = MPI_DATATYPE_NULL;  // one block
  MPI_Op op = MPI_OP_NULL;                // combines blocks

  void create();  // after MPI_Init
  void free();    // before MPI_Finalize
};

// min and max on float and double as JS's Math.min and Math.max: NaN if either operand is
// NaN, min(0, -0) = -0 and max(0, -0) = 0, whatever the order of the operands. MPI_MIN and
// MPI_MAX leave NaN and signed zeros to the order the library combines values in, so ranks
// got different answers. Commutative user-defined MPI_Ops, used in place of MPI_MIN / MPI_MAX
// for MPI_FLOAT and MPI_DOUBLE (collectives.cc); the small allreduce applies the same rule.
struct JsMinMax {
  MPI_Op min = MPI_OP_NULL, max = MPI_OP_NULL;
  void create();  // after MPI_Init
  void free();    // before MPI_Finalize
};

template <typename T>
inline T jsMin(T a, T b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a < b) return a;
  if (b < a) return b;
  return std::signbit(a) ? a : b;  // equal: ±0 or the same value
}

template <typename T>
inline T jsMax(T a, T b) {
  if (a != a) return a;
  if (b != b) return b;
  if (a > b) return a;
  if (b > a) return b;
  return std::signbit(a) ? b : a;
}

}  // namespace orchid
