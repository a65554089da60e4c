/*
 * orchid_osu: OSU-style MPI micro-benchmarks in C, the reference that `orchid bench`
 * runs next to the JavaScript ones (same sizes, same iteration counts, same method).
 *
 *   mpicc -O2 -o orchid_osu orchid_osu.c
 *   mpiexec -n 2 ./orchid_osu [--sizes 8,64,...] [--coll-sizes 8,...] [--scale 1] [--repeats 5]
 *                             [--only pingpong,bcast,allreduce,alltoall,barrier] [--peers 1,6|none]
 * --peers: the ranks that ping-pong with rank 0, one after the other (default 1; the bench
 * passes a rank on the same host and one on the next host); their lines carry "peer".
 * --dist SIZE: the ping-pong of that size also times every iteration and prints the one-way
 * times of all repeats as {"benchmark":"pingpong-dist","size":SIZE,"samples":[...]} (for
 * percentiles; bench/mpi-vs-c.mjs).
 * --only fresh: a ping-pong of each size of 1 MiB and up in which both ranks receive every
 * message into freshly mapped memory (mmap, whole 2 MiB pages with MADV_HUGEPAGE as orchid's
 * buffer pool asks, then munmap): what a receive that hands out a new array costs when no recycled buffer is ready.
 * Lines: "pingpong-fresh-latency" and "-bandwidth". Not in the default set.
 *
 * Rank 0 prints one JSON object per line (format: bench/c/README.md):
 *   {"impl":"c-mpi","benchmark":"pingpong-latency","ranks":2,"size":8,"unit":"us","iters":1000,"samples":[...]}
 * and first a header line {"impl":"c-mpi","type":"env","ranks":N,"mpi_version":"...","library":"..."}.
 * Latency: ping-pong one-way time in microseconds (round trip / 2); bandwidth: bytes / one-way µs
 * = MB/s; collectives: the slowest rank's mean time per call, in microseconds.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MAXS 64

static int parse_list(const char *s, long *out) {
  int n = 0;
  char *copy = strdup(s), *tok, *save = NULL;
  for (tok = strtok_r(copy, ",", &save); tok && n < MAXS; tok = strtok_r(NULL, ",", &save)) out[n++] = atol(tok);
  free(copy);
  return n;
}

/* Same rule as src/bench/rank.ts itersFor(). */
static long iters_for(long size, double scale) {
  long base = size <= 4096 ? 1000 : size <= 65536 ? 300 : size <= 1048576 ? 60 : 20;
  long it = (long)(base * scale + 0.5);
  return it < 3 ? 3 : it;
}

static int rank, nranks;

static void print_samples(const char *bench, long size, const char *unit, long iters, const double *s, int reps, int peer) {
  if (rank != 0) return;
  printf("{\"impl\":\"c-mpi\",\"benchmark\":\"%s\",\"ranks\":%d,\"size\":%ld,\"unit\":\"%s\",\"iters\":%ld,", bench, nranks, size, unit, iters);
  if (peer > 0) printf("\"peer\":%d,", peer);
  printf("\"samples\":[");
  for (int i = 0; i < reps; i++) printf("%s%.6g", i ? "," : "", s[i]);
  printf("]}\n");
  fflush(stdout);
}

static int wanted(const char *only, const char *name) {
  if (!only) return 1;
  const char *p = strstr(only, name);
  if (!p) return 0;
  size_t n = strlen(name);
  return (p == only || p[-1] == ',') && (p[n] == 0 || p[n] == ',');
}

int main(int argc, char **argv) {
  long sizes[MAXS] = {8, 64, 512, 4096, 32768, 262144, 1048576, 4194304};
  int nsizes = 8;
  long csizes[MAXS] = {8, 512, 32768, 1048576};
  int ncsizes = 4;
  double scale = 1.0;
  int reps = 5;
  long dist = -1;
  const char *only = NULL;
  long peers[MAXS] = {1};
  int npeers = 1;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--sizes") && i + 1 < argc) nsizes = parse_list(argv[++i], sizes);
    else if (!strcmp(argv[i], "--coll-sizes") && i + 1 < argc) ncsizes = parse_list(argv[++i], csizes);
    else if (!strcmp(argv[i], "--scale") && i + 1 < argc) scale = atof(argv[++i]);
    else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--dist") && i + 1 < argc) dist = atol(argv[++i]);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else if (!strcmp(argv[i], "--peers") && i + 1 < argc) {
      i++;
      npeers = strcmp(argv[i], "none") ? parse_list(argv[i], peers) : 0;
    }
    else {
      if (rank == 0) fprintf(stderr, "orchid_osu: unknown argument %s\n", argv[i]);
      MPI_Abort(MPI_COMM_WORLD, 2);
    }
  }
  if (reps < 1) reps = 1;
  if (reps > MAXS) reps = MAXS;
  {
    char lib[MPI_MAX_LIBRARY_VERSION_STRING];
    int len, ver, sub;
    MPI_Get_library_version(lib, &len);
    MPI_Get_version(&ver, &sub);
    for (int i = 0; i < len; i++) if (lib[i] == '"' || lib[i] == '\\' || lib[i] == '\n' || lib[i] == '\t') lib[i] = ' ';
    while (len > 0 && (lib[len - 1] == ' ' || lib[len - 1] == 0)) lib[--len] = 0;
    if (rank == 0) printf("{\"impl\":\"c-mpi\",\"type\":\"env\",\"ranks\":%d,\"mpi_version\":\"%d.%d\",\"library\":\"%s\"}\n", nranks, ver, sub, lib);
  }
  long maxs = 8;
  for (int i = 0; i < nsizes; i++) if (sizes[i] > maxs) maxs = sizes[i];
  for (int i = 0; i < ncsizes; i++) if (csizes[i] > maxs) maxs = csizes[i];
  char *buf = malloc(maxs), *rbuf = malloc(maxs * nranks), *sbuf = malloc(maxs * nranks);
  memset(buf, 7, maxs);
  memset(sbuf, rank, maxs * nranks);
  /* the ping-pong sends from buf and receives into rbuf, as orchid's bench does: with one
     buffer for both, MPICH 4.0 (ch4:ucx) here took 1.3-2x longer at 256 KiB-4 MiB */
  memset(rbuf, 0, maxs * nranks);
  double samples[MAXS];
  double *each = NULL; /* --dist: one-way time of every timed iteration of every repeat */
  long neach = 0;

  for (int pi = 0; pi < npeers && wanted(only, "pingpong"); pi++) {
    int peer = (int)peers[pi];
    if (peer < 1 || peer >= nranks) continue;
    for (int s = 0; s < nsizes; s++) {
      long size = sizes[s], iters = iters_for(size, scale), warm = iters >> 3 < 2 ? 2 : iters >> 3;
      for (int r = 0; r < reps; r++) {
        double t0 = 0;
        MPI_Barrier(MPI_COMM_WORLD);
        if (size == dist && !each) each = malloc(sizeof(double) * iters * reps);
        for (long i = 0; i < warm + iters; i++) {
          if (i == warm) t0 = MPI_Wtime();
          if (rank == 0) {
            double ti = size == dist ? MPI_Wtime() : 0;
            MPI_Send(buf, (int)size, MPI_BYTE, peer, 1, MPI_COMM_WORLD);
            MPI_Recv(rbuf, (int)size, MPI_BYTE, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            if (size == dist && i >= warm) each[neach++] = (MPI_Wtime() - ti) * 1e6 / 2;
          } else if (rank == peer) {
            MPI_Recv(rbuf, (int)size, MPI_BYTE, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(buf, (int)size, MPI_BYTE, 0, 1, MPI_COMM_WORLD);
          }
        }
        samples[r] = (MPI_Wtime() - t0) * 1e6 / iters / 2;
      }
      print_samples("pingpong-latency", size, "us", iters, samples, reps, peer);
      if (size == dist && each) {
        print_samples("pingpong-dist", size, "us", iters, each, (int)neach, peer);
        neach = 0;
      }
      for (int r = 0; r < reps; r++) samples[r] = size / samples[r];
      print_samples("pingpong-bandwidth", size, "MB/s", iters, samples, reps, peer);
    }
  }

  /* --only fresh: every message into memory mapped for it (see the header) */
  for (int s = 0; s < nsizes && only && strstr(only, "fresh"); s++) {
    long size = sizes[s], iters = iters_for(size, scale), warm = iters >> 3 < 2 ? 2 : iters >> 3;
    if (size < 1048576 || nranks < 2) continue;
    size_t huge = 2UL << 20, span = ((size_t)size + huge - 1) & ~(huge - 1), whole = span + huge;
    for (int r = 0; r < reps; r++) {
      double t0 = 0;
      MPI_Barrier(MPI_COMM_WORLD);
      for (long i = 0; i < warm + iters; i++) {
        if (i == warm) t0 = MPI_Wtime();
        if (rank > 1) continue;
        char *m = mmap(NULL, whole, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED) MPI_Abort(MPI_COMM_WORLD, 2);
        char *into = (char *)(((unsigned long)m + huge - 1) & ~(huge - 1));
#ifdef MADV_HUGEPAGE
        madvise(into, span, MADV_HUGEPAGE);
#endif
        if (rank == 0) {
          MPI_Send(buf, (int)size, MPI_BYTE, 1, 1, MPI_COMM_WORLD);
          MPI_Recv(into, (int)size, MPI_BYTE, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else {
          MPI_Recv(into, (int)size, MPI_BYTE, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
          MPI_Send(buf, (int)size, MPI_BYTE, 0, 1, MPI_COMM_WORLD);
        }
        munmap(m, whole);
      }
      samples[r] = (MPI_Wtime() - t0) * 1e6 / iters / 2;
    }
    print_samples("pingpong-fresh-latency", size, "us", iters, samples, reps, 1);
    for (int r = 0; r < reps; r++) samples[r] = size / samples[r];
    print_samples("pingpong-fresh-bandwidth", size, "MB/s", iters, samples, reps, 1);
  }

  const char *colls[] = {"bcast", "allreduce", "alltoall", "barrier"};
  for (int c = 0; c < 4 && nranks >= 2; c++) {
    if (!wanted(only, colls[c])) continue;
    int nsz = c == 3 ? 1 : ncsizes;
    for (int s = 0; s < nsz; s++) {
      long size = c == 3 ? 0 : csizes[s], iters = iters_for(size, scale), warm = iters >> 3 < 2 ? 2 : iters >> 3;
      long n = size / 8 < 1 ? 1 : size / 8;
      for (int r = 0; r < reps; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = 0;
        for (long i = 0; i < warm + iters; i++) {
          if (i == warm) t0 = MPI_Wtime();
          switch (c) {
            case 0: MPI_Bcast(buf, (int)(n * 8), MPI_BYTE, 0, MPI_COMM_WORLD); break;
            case 1: MPI_Allreduce(sbuf, rbuf, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD); break;
            case 2: MPI_Alltoall(sbuf, (int)size, MPI_BYTE, rbuf, (int)size, MPI_BYTE, MPI_COMM_WORLD); break;
            case 3: MPI_Barrier(MPI_COMM_WORLD); break;
          }
        }
        double mine = (MPI_Wtime() - t0) * 1e6 / iters, worst;
        MPI_Allreduce(&mine, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        samples[r] = worst;
      }
      print_samples(colls[c], size, "us", iters, samples, reps, 0);
    }
  }
  free(each);
  free(buf);
  free(rbuf);
  free(sbuf);
  MPI_Finalize();
  return 0;
}
