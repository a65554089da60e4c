// HPL (High-Performance Linpack) for `orchid bench`: solve a random dense N x N system
// A x = b by LU factorisation with partial pivoting, distributed like HPL, and check the
// answer with HPL's scaled residual.
//
// Accepts: any communicator (comm.size >= 1), any N >= 1 (a multiple of nb or not), any
// block size nb >= 1. The ranks form a P x Q grid (gridShape: as square as possible,
// P <= Q), rank r at process row floor(r / Q), column r % Q. The augmented matrix [A | b]
// (N rows, N + 1 columns) is spread 2-D block-cyclically in nb x nb blocks; each rank
// generates only its own entries, each a hash of (i, j, seed) uniform in [-0.5, 0.5)
// (hplEntry), so any rank can regenerate any entry and nothing is ever gathered. Each
// rank keeps its part row-major (a row swap is a contiguous copy).
//
// Algorithm (right-looking), for each panel of jb <= nb columns:
//  1. the process column owning the panel factors it (in a column-major copy): recursive
//     LU (dgetrf2-like: halves are updated by trsm + gemm, leaves of <= 8 columns by rank-1
//     updates). For every column one allreduce over the process column finds the pivot
//     (max |a|, ties to the lowest global row) and carries the pivot row and the current
//     diagonal row, so the swap inside the panel needs no other message and every member
//     of the process column ends with the jb x jb diagonal block (L11 and U11);
//  2. one bcast along each process row sends the pivots, L11 and that row's part of L21;
//  3. one allgather in each process column exchanges the rows the panel's swaps move
//     (trailing columns only; b is the last column, so it is swapped and eliminated with
//     A: no separate forward substitution, and L is never applied again); every member
//     forms the U12 block row from it (trsm with L11): this replaces HPL's U broadcast;
//  4. trailing update A22 -= L21 U12 by an 8 x 8 register-blocked gemm on Float64Arrays
//     (generated once, in hpl-blas.ts): the hot path, ~90% of the flops.
// Look-ahead of depth 1 when Q > 1: the process column owning the next panel updates that
// panel first, factors it and starts its broadcast, then updates the rest of its columns,
// in slices of rows with a yield to the event loop between them so the panel travels
// meanwhile; the other columns post the receive before their update.
// Then back substitution on U x = b' by diagonal blocks from the bottom: per block one
// reduce along a process row (the partial sums) and one bcast down a process column (x_k).
//
// Cost: 2/3 N^3 + 3/2 N^2 flops (hplFlops, HPL's count; the trsm's and the panel's are
// part of it). Messages per panel: jb allreduces of 3 + 2 jb doubles in the panel's
// process column (none when P = 1); one bcast of jb + jb^2 + (local rows) jb doubles in
// each process row (none when Q = 1); one allgather of <= 2 jb rows of the trailing
// columns in each process column (none when P = 1). Solve: per block of nb rows one
// reduce (Q > 1) and one bcast (P > 1) of nb doubles. Check: three allreduces.
// Memory: 8 N (N + 1) bytes over all ranks plus a few nb-wide panels per rank (hplN).
//
// Limits: the pivot search costs one collective per column, so with P > 1 the run is
// latency-bound until N is large (on a gigabit link, thousands of allreduces of ~1 KB);
// the gemm is scalar JavaScript (V8 does not vectorise it), ~7-8 GFLOP/s per x86 core
// at best and well under that before V8 has optimised it (the first run in a process);
// within a rank everything runs on the event loop's thread, so messages move only
// between slices of work; a world of one never yields while it factors. Each rank's part
// of the matrix is one Float64Array in memory (no out-of-core).
//
// Files: this one (the options, sizes and hplRun); ./hpl-matrix.ts (the random matrix and
// the block-cyclic layout); ./hpl-lu.ts (the factorisation, steps 1-4 and the look-ahead);
// ./hpl-blas.ts (the local kernels, gemm among them); ./hpl-solve.ts (back substitution,
// the check).
import type { Comm } from '../comm/comm.js';
import { factorise, luWork } from './hpl-lu.js';
import { colHash, distribute, entryOf } from './hpl-matrix.js';
import { backSubstitute, checkNorms, gatherX } from './hpl-solve.js';
import type { KernelResult } from './kernels.js';

export interface HplOptions {
  /** block size (default 64, smaller when N is small for the grid: see defaultNb) */
  nb?: number;
  /** seed of the random matrix (default 1) */
  seed?: number;
  /** added to x[0] before the check (default 0); a test uses it to see the check fail */
  perturb?: number;
  /** also return the solution that was checked (gathered to every rank: N doubles) */
  returnX?: boolean;
}

export interface HplResult extends KernelResult {
  n: number;
  nb: number;
  p: number;
  q: number;
  /** HPL's scaled residual ||Ax-b||_oo / (eps (||A||_oo ||x||_oo + ||b||_oo) N); passes < 16 */
  residual: number;
  /** factorisation + solve wall time on rank 0, between barriers (not generation or check) */
  seconds: number;
  /** hplFlops(n) / seconds / 1e9 */
  gflops: number;
  /** the x the check used (with `perturb` added), only with `returnX` */
  x?: Float64Array;
}

/** HPL's threshold for the scaled residual. */
export const HPL_THRESHOLD = 16;
/** HPL's eps: the unit roundoff 2^-53 (DBL_EPSILON / 2), as HPL_dlamch('eps') returns. */
export const HPL_EPS = 2 ** -53;

/** HPL's operation count for an N x N solve: 2/3 N^3 + 3/2 N^2. */
export function hplFlops(n: number): number {
  return (2 / 3) * n * n * n + 1.5 * n * n;
}

/** The P x Q process grid for `size` ranks: P Q = size, P <= Q, as square as possible. */
export function gridShape(size: number): { p: number; q: number } {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`gridShape: size must be an integer >= 1, got ${size}`);
  let p = Math.floor(Math.sqrt(size));
  while (size % p !== 0) p--;
  return { p, q: size / p };
}

/**
 * The problem size for a memory budget: the largest N, a multiple of nb, whose matrix
 * (8 N^2 bytes of doubles) fits in `fraction` of `memoryBytes`, the total memory of the
 * nodes used (HPL's usual sizing rule; fraction 0.8 is common). With `size` (the ranks
 * that will run it) the rest of what the run holds is counted against the same budget
 * too: the column b (8 N bytes) and each rank's buffers (the panel and its copy,
 * the U block row and the swapped rows), about 8 nb (2 N/P + 3 N/Q + 2 nb) bytes on a
 * gridShape(size) grid. Returns 0 when not even N = nb fits.
 */
export function hplN(memoryBytes: number, fraction: number, nb: number, size?: number): number {
  if (!(memoryBytes >= 0) || !(fraction >= 0) || !Number.isInteger(nb) || nb < 1)
    throw new RangeError(`hplN: need memoryBytes >= 0, fraction >= 0 and an integer nb >= 1 (got ${memoryBytes}, ${fraction}, ${nb})`);
  const budget = fraction * memoryBytes;
  let n = Math.floor(Math.sqrt(budget / 8) / nb) * nb;
  if (size === undefined) {
    while (n > 0 && 8 * n * n > budget) n -= nb; // rounding of the square root
    return n;
  }
  const { p, q } = gridShape(size);
  const need = (m: number): number => 8 * m * (m + 1) + size * 8 * nb * (2 * Math.ceil(m / p) + 3 * Math.ceil(m / q) + 2 * nb);
  while (n > 0 && need(n) > budget) n -= nb;
  return n;
}

/** The default block size: 64, halved while the grid's longer side would get fewer than two blocks. */
export function defaultNb(n: number, p: number, q: number): number {
  let nb = 64;
  while (nb > 1 && nb * 2 * Math.max(p, q) > n) nb >>= 1;
  return nb;
}

/** Entry (i, j) of the augmented matrix [A | b] for `seed`: uniform in [-0.5, 0.5); b_i is entry (i, N). */
export function hplEntry(i: number, j: number, seed: number): number {
  return entryOf(i, colHash(j, seed));
}

/** HPL on `comm` (collective): factor and solve a random n x n system, then check it. Every rank gets the same result. */
export async function hplRun(comm: Comm, n: number, opts: HplOptions = {}): Promise<HplResult> {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`hplRun: n must be an integer >= 1, got ${n}`);
  const { p: P, q: Q } = gridShape(comm.size);
  const nb = opts.nb ?? defaultNb(n, P, Q);
  if (!Number.isInteger(nb) || nb < 1) throw new RangeError(`hplRun: nb must be an integer >= 1, got ${nb}`);
  const seed = opts.seed ?? 1;
  const perturb = opts.perturb ?? 0;
  const N = n;
  const loc = await distribute(comm, N, nb, P, Q, seed);
  const work = luWork(loc);

  await comm.barrier();
  const t0 = performance.now();
  const singular = await factorise(loc, work);
  const xloc = await backSubstitute(loc);

  await comm.barrier();
  const mySeconds = (performance.now() - t0) / 1000;
  const seconds = (await comm.bcast(comm.rank === 0 ? mySeconds : undefined, 0)) as number;

  // ---- the check: r = ||Ax-b|| / (eps (||A|| ||x|| + ||b||) N), oo-norms ----
  const g = await checkNorms(comm, loc, xloc, singular, perturb);
  const residual = g[0]! / (HPL_EPS * (g[1]! * g[3]! + g[2]!) * N);
  const ok = g[4] === 0 && Number.isFinite(residual) && residual < HPL_THRESHOLD;

  const x = opts.returnX ? await gatherX(comm, loc, xloc) : undefined;

  const all = (await comm.allreduce(ok ? 1 : 0, 'min')) as number;
  const gflops = hplFlops(N) / seconds / 1e9;
  const detail =
    `N=${N} NB=${nb} P=${P} Q=${Q}: ||Ax-b||_oo/(eps(||A||_oo||x||_oo+||b||_oo)N) = ${residual.toPrecision(4)} ` +
    `(${ok ? 'PASSED' : 'FAILED'}, threshold ${HPL_THRESHOLD}${g[4] ? ', zero pivot' : ''}), ` +
    `${seconds.toFixed(3)} s, ${gflops.toPrecision(4)} GFLOP/s`;
  const result: HplResult = { verified: all === 1, detail, n: N, nb, p: P, q: Q, residual, seconds, gflops };
  if (x) result.x = x;
  return result;
}
