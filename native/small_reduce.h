// A small typed-array allreduce in one MPI call. A block (abi.h: SR_BLOCK bytes) is a header
// {len, -len, kind, -kind, op, error, -op, 0} of int32, combined with MAX so every rank learns
// whether lengths, kinds and ops agreed, followed by up to SR_DATA bytes of elements combined
// with the op. One MPI_Iallreduce with a user-defined MPI_Op replaces the length agreement
// round plus the data round.
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
