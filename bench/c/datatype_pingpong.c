// 4 MiB ping-pong between 2 ranks, the payload as plain contiguous bytes and as one message
// of an hindexed datatype over {8-byte header, payload} (how the native addon once sent large
// messages). Prints the one-way time of each, 3 repeats. See native/README.md, "Messages".
//   mpicc -O2 -o datatype_pingpong bench/c/datatype_pingpong.c && mpiexec -n 2 ./datatype_pingpong
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const int n = 4 << 20, iters = 50;
  char* buf = malloc(n);
  memset(buf, 1, n);
  char hdr[8] = {0};
  MPI_Aint disp[2];
  MPI_Get_address(hdr, &disp[0]);
  MPI_Get_address(buf, &disp[1]);
  int lens[2] = {8, n};
  MPI_Datatype hi;
  MPI_Type_create_hindexed(2, lens, disp, MPI_BYTE, &hi);
  MPI_Type_commit(&hi);
  for (int mode = 0; mode < 2; mode++) {
    void* p = mode ? MPI_BOTTOM : buf;
    int count = mode ? 1 : n;
    MPI_Datatype t = mode ? hi : MPI_BYTE;
    for (int rep = 0; rep < 3; rep++) {
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = MPI_Wtime();
      for (int i = 0; i < iters; i++) {
        if (rank == 0) {
          MPI_Send(p, count, t, 1, 1, MPI_COMM_WORLD);
          MPI_Recv(p, count, t, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else if (rank == 1) {
          MPI_Recv(p, count, t, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
          MPI_Send(p, count, t, 0, 1, MPI_COMM_WORLD);
        }
      }
      if (rank == 0) printf("%-10s %8.1f us one-way\n", mode ? "hindexed" : "contiguous", (MPI_Wtime() - t0) / iters / 2 * 1e6);
    }
  }
  MPI_Type_free(&hi);
  free(buf);
  MPI_Finalize();
  return 0;
}
