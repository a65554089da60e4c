// A small typed-array allreduce in one MPI call. A block (abi.h: SR_BLOCK bytes) is a header
// {len, -len, kind, -kind, op, error, -op, 0} of int32, combined with MAX so every rank learns
// whether lengths, kinds and ops agreed, followed by up to SR_DATA bytes of elements combined
// with the op. One MPI_Iallreduce with a user-defined MPI_Op replaces the length agreement
// round plus the data round.
#pragma once
#include <mpi.h>

namespace orchid {

struct SmallReduce {
  MPI_Datatype type = MPI_DATATYPE_NULL;  // one block
  MPI_Op op = MPI_OP_NULL;                // combines blocks

  void create();  // after MPI_Init
  void free();    // before MPI_Finalize
};

}  // namespace orchid
