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
//     (generated once, below): the hot path, ~90% of the flops.
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
import type { Comm } from '../comm/comm.js';
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

// ---- the matrix: entry (i, j) of [A | b] (b is column N) as a hash of (i, j, seed) ----
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
const colHash = (j: number, seed: number): number => mix32(Math.imul(j + 1, 0x9e3779b1) ^ mix32(seed ^ 0x5bd1e995));
const entryOf = (i: number, ch: number): number => mix32(Math.imul(i + 1, 0x27d4eb2f) ^ ch) / 4294967296 - 0.5;

/** Entry (i, j) of the augmented matrix [A | b] for `seed`: uniform in [-0.5, 0.5); b_i is entry (i, N). */
export function hplEntry(i: number, j: number, seed: number): number {
  return entryOf(i, colHash(j, seed));
}

// ---- local kernels (column-major unless named RM; every matrix is an array, an offset and a leading dimension) ----

type Gemm = (m: number, n: number, k: number, A: Float64Array, a0: number, lda: number, B: Float64Array, b0: number, ldb: number, C: Float64Array, c0: number, ldc: number) => void;

// C(m x n) -= A(m x k) B(k x n). Generated once: blocks of 8 columns of C (then 4, then 1)
// by 8 values of k (then 1), the 8 x 8 values of B in locals and the loop over the rows
// of C innermost (contiguous in A and C): 64 multiply-adds per 8 loads of A and 8
// load/stores of C. On V8 this ran at ~7-8 GFLOP/s on one x86 core against ~1.4 for the
// plain i-k-j axpy loop, ~3.3 for 4 columns x 1 k, ~6 for 8 x 4. Only fixed strings go
// into the source.
function gemmSource(): string {
  const L: string[] = ['let j = 0;'];
  const colBlock = (jb: number): void => {
    for (let c = 0; c < jb; c++) L.push(`const cj${c} = c0 + (j + ${c}) * ldc, bj${c} = b0 + (j + ${c}) * ldb;`);
    L.push('let p = 0;');
    const kBlock = (pb: number): void => {
      L.push(`for (; p + ${pb} <= k; p += ${pb}) {`);
      for (let c = 0; c < jb; c++) for (let q = 0; q < pb; q++) L.push(`const b${c}_${q} = B[bj${c} + p + ${q}];`);
      for (let q = 0; q < pb; q++) L.push(`const ap${q} = a0 + (p + ${q}) * lda;`);
      L.push('for (let i = 0; i < m; i++) {');
      for (let q = 0; q < pb; q++) L.push(`const a${q} = A[ap${q} + i];`);
      for (let c = 0; c < jb; c++) L.push(`C[cj${c} + i] -= ${Array.from({ length: pb }, (_, q) => `a${q} * b${c}_${q}`).join(' + ')};`);
      L.push('}', '}');
    };
    kBlock(8);
    kBlock(1);
  };
  for (const jb of [8, 4, 1]) {
    L.push(`for (; j + ${jb} <= n; j += ${jb}) {`);
    colBlock(jb);
    L.push('}');
  }
  return L.join('\n');
}
const gemm = new Function('m', 'n', 'k', 'A', 'a0', 'lda', 'B', 'b0', 'ldb', 'C', 'c0', 'ldc', gemmSource()) as Gemm;

/** B(m x n) := L^-1 B with L (m x m) unit lower triangular; recursive, the bulk in gemm. */
function trsmLowerUnit(m: number, n: number, L: Float64Array, l0: number, ldl: number, B: Float64Array, b0: number, ldb: number): void {
  if (m <= 8) {
    for (let t = 0; t < n; t++) {
      const bt = b0 + t * ldb;
      for (let c = 1; c < m; c++) {
        let s = B[bt + c]!;
        for (let d = 0; d < c; d++) s -= L[l0 + c + d * ldl]! * B[bt + d]!;
        B[bt + c] = s;
      }
    }
    return;
  }
  const h = m > 16 ? (m >> 4) << 3 : m >> 1; // a multiple of 8 when it can be
  trsmLowerUnit(h, n, L, l0, ldl, B, b0, ldb);
  gemm(m - h, n, h, L, l0 + h, ldl, B, b0, ldb, B, b0 + h, ldb);
  trsmLowerUnit(m - h, n, L, l0 + h + h * ldl, ldl, B, b0 + h, ldb);
}

/** How many of the first n global indices (in blocks of nb dealt round nprocs) belong to iproc (ScaLAPACK's numroc). */
function numroc(n: number, nb: number, iproc: number, nprocs: number): number {
  const nblocks = Math.floor(n / nb);
  const base = Math.floor(nblocks / nprocs) * nb;
  const extra = nblocks % nprocs;
  if (iproc < extra) return base + nb;
  if (iproc === extra) return base + (n % nb);
  return base;
}

// The pivot search's reduction over a process column. Operand: [|a| of the best
// candidate (-1 for none), its global row, 1 if this operand carries the diagonal row,
// the candidate's panel row (w values), the diagonal row (w values)].
function pivotOp(a: Float64Array, b: Float64Array): Float64Array {
  const w = (a.length - 3) >> 1;
  const win = b[0]! > a[0]! || (b[0] === a[0] && b[1]! < a[1]!) ? b : a;
  const diag = a[2] === 1 ? a : b;
  if (win === diag) return win;
  const out = new Float64Array(a.length);
  out[0] = win[0]!;
  out[1] = win[1]!;
  out[2] = diag[2]!;
  out.set(win.subarray(3, 3 + w), 3);
  out.set(diag.subarray(3 + w), 3 + w);
  return out;
}

/** Row-major C(m x n) -= A(m x k) B(k x n): the column-major gemm on the transposes. */
function gemmRM(m: number, n: number, k: number, A: Float64Array, a0: number, lda: number, B: Float64Array, b0: number, ldb: number, C: Float64Array, c0: number, ldc: number): void {
  gemm(n, m, k, B, b0, ldb, A, a0, lda, C, c0, ldc);
}

/** Row-major B(m x n) := L^-1 B with L (m x m, row-major) unit lower triangular. */
function trsmLowerUnitRM(m: number, n: number, L: Float64Array, l0: number, ldl: number, B: Float64Array, b0: number, ldb: number): void {
  if (m <= 8) {
    for (let c = 1; c < m; c++) {
      const bc = b0 + c * ldb;
      for (let d = 0; d < c; d++) {
        const l = L[l0 + c * ldl + d]!;
        if (l === 0) continue;
        const bd = b0 + d * ldb;
        for (let t = 0; t < n; t++) B[bc + t] -= l * B[bd + t]!;
      }
    }
    return;
  }
  const h = m > 16 ? (m >> 4) << 3 : m >> 1;
  trsmLowerUnitRM(h, n, L, l0, ldl, B, b0, ldb);
  gemmRM(m - h, n, h, L, l0 + h * ldl, ldl, B, b0, ldb, B, b0 + h * ldb, ldb);
  trsmLowerUnitRM(m - h, n, L, l0 + h * ldl + h, ldl, B, b0 + h * ldb, ldb);
}

const LEAF = 8;
/** Rows of the trailing update between yields to the event loop, when a panel is in flight. */
const SLICE = 64;
const yieldNow = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** p, marked as handled while it is pending: its failure surfaces where it is awaited, not as an unhandled rejection. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

// ---- the loops of hplRun, each its own small function so that V8 optimises it on its
// own (inside the big async function they ran unoptimised for long and boxed every double) ----

/** My entries of [A | b], row-major: A[lr * ldr + lc] = entry (gRow[lr], gCol[lc]). */
function fillLocal(A: Float64Array, ldr: number, mloc: number, nloc: number, gRow: Int32Array, gCol: Int32Array, seed: number): void {
  const ch = new Float64Array(nloc);
  for (let lc = 0; lc < nloc; lc++) ch[lc] = colHash(gCol[lc]!, seed);
  for (let lr = 0; lr < mloc; lr++) {
    const g = gRow[lr]!;
    const o = lr * ldr;
    for (let lc = 0; lc < nloc; lc++) A[o + lc] = entryOf(g, ch[lc]!);
  }
}

/** Rows [r0, mloc) of columns [lc0, lc0 + jb) of the row-major A into W, column-major (ld ldw). */
function panelIn(A: Float64Array, ldr: number, r0: number, mloc: number, lc0: number, jb: number, W: Float64Array, ldw: number): void {
  for (let lr = r0; lr < mloc; lr++) {
    const o = lr * ldr + lc0;
    const w = lr - r0;
    for (let c = 0; c < jb; c++) W[w + c * ldw] = A[o + c]!;
  }
}

/** Local row in [rs, m) of column offset `col` with the largest |a| (the first of equals), or -1. */
function maxAbsRow(W: Float64Array, col: number, rs: number, m: number): number {
  let best = -1;
  let bi = -1;
  for (let i = rs; i < m; i++) {
    const v = Math.abs(W[col + i]!);
    if (v > best) {
      best = v;
      bi = i;
    }
  }
  return bi;
}

/** Row r of the column-major panel W (jb columns) into dst[d0 ...]; nothing when r < 0. */
function getRow(W: Float64Array, ldw: number, r: number, jb: number, dst: Float64Array, d0: number): void {
  if (r < 0) return;
  for (let c = 0; c < jb; c++) dst[d0 + c] = W[c * ldw + r]!;
}

function setRow(W: Float64Array, ldw: number, r: number, jb: number, src: Float64Array, s0: number): void {
  for (let c = 0; c < jb; c++) W[c * ldw + r] = src[s0 + c]!;
}

/** Column c of W scaled by inv from row `below`, then columns (c, end) updated by the pivot row u[u0 + column]. */
function scaleAndUpdate(W: Float64Array, ldw: number, c: number, end: number, below: number, m: number, inv: number, u: Float64Array, u0: number): void {
  const col = c * ldw;
  for (let i = below; i < m; i++) W[col + i] *= inv;
  for (let cc = c + 1; cc < end; cc++) {
    const v = u[u0 + cc]!;
    if (v === 0) continue;
    const o = cc * ldw;
    for (let i = below; i < m; i++) W[o + i] -= W[col + i]! * v;
  }
}

function copy(src: Float64Array, s0: number, dst: Float64Array, d0: number, n: number): void {
  for (let i = 0; i < n; i++) dst[d0 + i] = src[s0 + i]!;
}

/** dst[d0 + i * ldd + c] = src[s0 + i + c * lds] for i < m, c < n (column-major m x n to row-major). */
function transpose(src: Float64Array, s0: number, lds: number, m: number, n: number, dst: Float64Array, d0: number, ldd: number): void {
  for (let i = 0; i < m; i++) {
    const o = d0 + i * ldd;
    for (let c = 0; c < n; c++) dst[o + c] = src[s0 + i + c * lds]!;
  }
}

/** The upper triangular solve of one diagonal block (row-major at A[o], kb x kb). */
function solveDiag(A: Float64Array, o: number, ldr: number, kb: number, rhs: Float64Array, x: Float64Array): void {
  for (let c = kb - 1; c >= 0; c--) {
    const oc = o + c * ldr;
    let s = rhs[c]!;
    for (let d = c + 1; d < kb; d++) s -= A[oc + d]! * x[d]!;
    x[c] = s / A[oc + c]!;
  }
}

/** part[i] += sum_c A[i, lc0 + c] x[c] for local rows i < rEnd (row-major A). */
function addColumns(part: Float64Array, A: Float64Array, ldr: number, lc0: number, kb: number, rEnd: number, x: Float64Array): void {
  for (let i = 0; i < rEnd; i++) {
    const o = i * ldr + lc0;
    let s = 0;
    for (let c = 0; c < kb; c++) s += A[o + c]! * x[c]!;
    part[i] += s;
  }
}

/** sums[i] = sum over my columns j < nx of a_ij x_j, sums[mloc + i] = sum |a_ij|, from A generated afresh. */
function checkSums(sums: Float64Array, mloc: number, nx: number, gRow: Int32Array, gCol: Int32Array, x: Float64Array, seed: number): void {
  for (let lc = 0; lc < nx; lc++) {
    const ch = colHash(gCol[lc]!, seed);
    const xj = x[lc]!;
    for (let lr = 0; lr < mloc; lr++) {
      const a = entryOf(gRow[lr]!, ch);
      sums[lr] += a * xj;
      sums[mloc + lr] += Math.abs(a);
    }
  }
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
  const myrow = Math.floor(comm.rank / Q);
  const mycol = comm.rank % Q;
  const rowComm = (await comm.split(myrow, mycol))!; // my process row; rank = mycol
  const colComm = (await comm.split(mycol, myrow))!; // my process column; rank = myrow

  // ---- my part of [A | b]: mloc x nloc, row-major (rows contiguous: the swaps copy rows) ----
  const mloc = numroc(N, nb, myrow, P);
  const nloc = numroc(N + 1, nb, mycol, Q);
  const ldr = Math.max(1, nloc);
  const gRow = new Int32Array(mloc);
  for (let l = 0; l < mloc; l++) gRow[l] = (Math.floor(l / nb) * P + myrow) * nb + (l % nb);
  const gCol = new Int32Array(nloc);
  for (let l = 0; l < nloc; l++) gCol[l] = (Math.floor(l / nb) * Q + mycol) * nb + (l % nb);
  const rowOwner = (g: number): number => Math.floor(g / nb) % P;
  const localRow = (g: number): number => Math.floor(Math.floor(g / nb) / P) * nb + (g % nb);
  const A = new Float64Array(mloc * ldr);
  fillLocal(A, ldr, mloc, nloc, gRow, gCol, seed);
  const W = new Float64Array(Math.max(1, mloc) * nb); // the panel being factored, column-major
  const panelBuf = new Float64Array(Q > 1 ? 0 : nb + nb * nb + mloc * nb);
  const Ubuf = new Float64Array(nb * nloc); // U12

  let singular = false;
  await comm.barrier();
  const t0 = performance.now();

  // ---- factorisation ----
  // Panel k (columns [k nb, k nb + jb)), factored by its process column:
  // [ipiv (jb) | L11\U11 row-major (jb x jb) | my rows of L21 row-major (mr x jb)].
  const factorPanel = async (k: number): Promise<Float64Array> => {
    const j0 = k * nb;
    const jb = Math.min(nb, N - j0);
    const top = myrow === k % P; // I hold the panel's diagonal block rows
    const r0 = numroc(j0, nb, myrow, P); // first local row at or below the panel's top
    const mr = mloc - (top ? r0 + jb : r0);
    const lc0 = numroc(j0, nb, mycol, Q);
    const mp = mloc - r0; // W's rows: my rows at or below the panel's top
    const ldw = Math.max(1, mp);
    panelIn(A, ldr, r0, mloc, lc0, jb, W, ldw);
    const ipiv = new Float64Array(jb);
    const T = new Float64Array(jb * jb); // the diagonal block, column-major, as every member of the column sees it
    const scratch = new Float64Array(3 + 2 * jb);
    // one column of the panel: pivot search, swap (whole panel width), scale, rank-1
    // update of the leaf's later columns [c + 1, end)
    const pivotStep = async (c: number, end: number): Promise<void> => {
      const j = j0 + c;
      const rs = top ? c : 0; // W's rows at or below row j
      const bi = maxAbsRow(W, c * ldw, rs, mp);
      const payload = P > 1 ? new Float64Array(3 + 2 * jb) : scratch; // new for a collective: it may still hold the last one
      payload[0] = bi >= 0 ? Math.abs(W[c * ldw + bi]!) : -1;
      payload[1] = bi >= 0 ? gRow[r0 + bi]! : Infinity;
      payload[2] = top ? 1 : 0;
      getRow(W, ldw, bi, jb, payload, 3);
      if (top) getRow(W, ldw, rs, jb, payload, 3 + jb);
      const res = P > 1 ? ((await colComm.allreduce(payload, pivotOp)) as Float64Array) : payload;
      const gp = res[1]!;
      ipiv[c] = gp;
      // the swap: row j's old content goes to row gp (row j itself is not read again: T holds it)
      if (gp !== j && rowOwner(gp) === myrow) setRow(W, ldw, localRow(gp) - r0, jb, res, 3 + jb);
      for (let cc = 0; cc < jb; cc++) T[c + cc * jb] = res[3 + cc]!;
      const piv = res[3 + c]!;
      if (piv === 0 || !Number.isFinite(piv)) {
        singular = true; // HPL would divide by zero; the check then fails
        return;
      }
      scaleAndUpdate(W, ldw, c, end, top ? rs + 1 : rs, mp, 1 / piv, res, 3);
    };
    // columns [a, a + w) of the panel, recursively
    const factor = async (a: number, w: number): Promise<void> => {
      if (w <= LEAF) {
        for (let c = a; c < a + w; c++) await pivotStep(c, a + w);
        return;
      }
      const h = w > 2 * LEAF ? (w >> 4) << 3 : w >> 1;
      await factor(a, h);
      // the right half: rows [a, a + h) by trsm (in T, the copy every member has), the rows below by gemm
      trsmLowerUnit(h, w - h, T, a + a * jb, jb, T, a + (a + h) * jb, jb);
      const rs = top ? a + h : 0;
      if (mp > rs) gemm(mp - rs, w - h, h, W, rs + a * ldw, ldw, T, a + (a + h) * jb, jb, W, rs + (a + h) * ldw, ldw);
      await factor(a + h, w - h);
    };
    await factor(0, jb);
    const len = jb + jb * jb + mr * jb;
    const buf = Q > 1 ? new Float64Array(len) : panelBuf.subarray(0, len); // (a bcast may still hold a sent one)
    buf.set(ipiv, 0);
    transpose(T, 0, jb, jb, jb, buf, jb, jb);
    transpose(W, mp - mr, ldw, mr, jb, buf, jb + jb * jb, jb);
    // the diagonal block stays in A for the back substitution (L21 is not needed again)
    if (top) for (let c = 0; c < jb; c++) copy(buf, jb + c * jb, A, (r0 + c) * ldr + lc0, jb);
    return buf;
  };

  // Look-ahead (when Q > 1): in step k the process column owning panel k + 1 updates that
  // panel's columns first, factors it and starts its broadcast, then updates the rest; the
  // other columns post the receive before their update. Both update in slices of rows
  // and yield to the event loop between them, so the panel travels meanwhile.
  const K = Math.ceil(N / nb);
  let next: Promise<Float64Array> | undefined; // panel k's buffer, factored or in flight
  for (let k = 0; k < K; k++) {
    const j0 = k * nb;
    const jb = Math.min(nb, N - j0);
    const prow = k % P;
    const pcol = k % Q;
    const top = myrow === prow;
    const r0 = numroc(j0, nb, myrow, P);
    const r1 = top ? r0 + jb : r0; // first local row below the diagonal block
    const mr = mloc - r1;
    const c1 = numroc(j0 + jb, nb, mycol, Q); // first local trailing column
    const nt = nloc - c1;

    let buf: Float64Array;
    if (next) buf = await next;
    else if (mycol === pcol) {
      buf = await factorPanel(k);
      if (Q > 1) await rowComm.bcast(buf, pcol);
    } else buf = (await rowComm.bcast<Float64Array>(undefined, pcol)) as Float64Array;
    next = undefined;
    const look = Q > 1 && k + 1 < K;
    const pnext = (k + 1) % Q;
    if (look && mycol !== pnext) next = quiet(rowComm.bcast<Float64Array>(undefined, pnext) as Promise<Float64Array>);
    if (nt === 0) continue; // (the same for the whole process column; never the owner of panel k + 1)
    const ipiv = buf.subarray(0, jb);

    // ---- the panel's row swaps in the trailing columns, and the U12 block row ----
    const moved = new Map<number, number>(); // position -> the row whose content ends there
    const at = (r: number): number => moved.get(r) ?? r;
    for (let c = 0; c < jb; c++) {
      const j = j0 + c;
      const g = ipiv[c]!;
      if (g !== j) {
        const t = at(j);
        moved.set(j, at(g));
        moved.set(g, t);
      }
    }
    const dests: number[] = []; // rows below the block that get another row's content
    for (const [r, s] of moved) if (r >= j0 + jb && s !== r) dests.push(r);
    const sourceSet = new Set<number>();
    for (let c = 0; c < jb; c++) sourceSet.add(at(j0 + c));
    for (const r of dests) sourceSet.add(at(r));
    const sources = [...sourceSet].sort((x, y) => x - y);
    const slot = new Map<number, number>(); // source row -> its index in its owner's part
    const count = new Array<number>(P).fill(0);
    for (const s of sources) {
      const o = rowOwner(s);
      slot.set(s, count[o]!);
      count[o] = count[o]! + 1;
    }
    const mine = new Float64Array(count[myrow]! * nt); // my source rows (trailing columns), in slot order
    for (const s of sources) if (rowOwner(s) === myrow) copy(A, localRow(s) * ldr + c1, mine, slot.get(s)! * nt, nt);
    const parts = P > 1 ? ((await colComm.allgather(mine)) as Float64Array[]) : [mine];
    const fetchRow = (s: number, dst: Float64Array, d0: number): void => copy(parts[rowOwner(s)]!, slot.get(s)! * nt, dst, d0, nt);
    const U = Ubuf; // U12, row-major jb x nt
    for (let c = 0; c < jb; c++) fetchRow(at(j0 + c), U, c * nt);
    for (const r of dests) if (rowOwner(r) === myrow) fetchRow(at(r), A, localRow(r) * ldr + c1);
    trsmLowerUnitRM(jb, nt, buf, jb, jb, U, 0, nt);
    if (top) for (let c = 0; c < jb; c++) copy(U, c * nt, A, (r0 + c) * ldr + c1, nt);

    // ---- trailing update: A22 -= L21 U12 ----
    const L0 = jb + jb * jb;
    if (!look) {
      if (mr > 0) gemmRM(mr, nt, jb, buf, L0, jb, U, 0, nt, A, r1 * ldr + c1, ldr);
      continue;
    }
    let c2 = 0; // trailing columns already updated
    let sent: Promise<unknown> | undefined;
    if (mycol === pnext) {
      c2 = Math.min(nb, N - j0 - nb); // panel k + 1: my first trailing columns
      if (mr > 0) gemmRM(mr, c2, jb, buf, L0, jb, U, 0, nt, A, r1 * ldr + c1, ldr);
      const bufNext = await factorPanel(k + 1);
      next = Promise.resolve(bufNext);
      sent = quiet(rowComm.bcast(bufNext, pnext));
    }
    let flying = true; // until the next panel has gone (root) or arrived (the others)
    const landed = (): void => {
      flying = false;
    };
    (sent ?? next)!.then(landed, landed);
    for (let i = 0; i < mr; i += SLICE) {
      const m = Math.min(SLICE, mr - i);
      gemmRM(m, nt - c2, jb, buf, L0 + i * jb, jb, U, c2, nt, A, (r1 + i) * ldr + c1 + c2, ldr);
      if (flying) await yieldNow();
    }
    if (sent) await sent;
  }

  // ---- back substitution U x = b' (b' is column N), by diagonal blocks from the bottom ----
  const xloc = new Float64Array(nloc);
  const part = new Float64Array(mloc); // sum over the solved blocks in my columns of U_ij x_j
  const qb = Math.floor(N / nb) % Q;
  const lcb = mycol === qb ? numroc(N, nb, mycol, Q) : -1;
  for (let k = Math.ceil(N / nb) - 1; k >= 0; k--) {
    const kr0 = k * nb;
    const kb = Math.min(nb, N - kr0);
    const prow = k % P;
    const pcol = k % Q;
    const lr0 = Math.floor(k / P) * nb;
    const lc0 = Math.floor(k / Q) * nb;
    let xk: Float64Array | undefined;
    if (myrow === prow) {
      const contrib = new Float64Array(kb);
      for (let c = 0; c < kb; c++) contrib[c] = (lcb >= 0 ? A[(lr0 + c) * ldr + lcb]! : 0) - part[lr0 + c]!;
      const r = Q > 1 ? await rowComm.reduce(contrib, 'sum', pcol) : contrib;
      if (mycol === pcol) {
        xk = new Float64Array(kb);
        solveDiag(A, lr0 * ldr + lc0, ldr, kb, r!, xk);
      }
    }
    if (mycol === pcol) {
      if (P > 1) xk = (await colComm.bcast(xk, prow)) as Float64Array;
      xloc.set(xk!, lc0);
      addColumns(part, A, ldr, lc0, kb, numroc(kr0, nb, myrow, P), xk!); // my rows above block k
    }
  }

  await comm.barrier();
  const mySeconds = (performance.now() - t0) / 1000;
  const seconds = (await comm.bcast(comm.rank === 0 ? mySeconds : undefined, 0)) as number;

  // ---- the check, on A and b generated afresh: r = ||Ax-b|| / (eps (||A|| ||x|| + ||b||) N), oo-norms ----
  if (mycol === 0 && nloc > 0) xloc[0] += perturb; // global column 0 is my local column 0
  const nx = mycol === qb ? lcb : nloc; // my columns of A (not b)
  const sums = new Float64Array(2 * mloc); // [ (A x)_i partial, sum_j |a_ij| partial ]
  checkSums(sums, mloc, nx, gRow, gCol, xloc, seed);
  const rows = Q > 1 && mloc > 0 ? ((await rowComm.allreduce(sums, 'sum')) as Float64Array) : sums;
  const chb = colHash(N, seed);
  const bad = (v: number): number => (Number.isNaN(v) ? Infinity : v);
  const norms = new Float64Array(5); // max |Ax-b|_i, ||A||_oo, ||b||_oo, ||x||_oo, a zero pivot
  for (let lr = 0; lr < mloc; lr++) {
    const b = entryOf(gRow[lr]!, chb);
    norms[0] = Math.max(norms[0]!, bad(Math.abs(rows[lr]! - b)));
    norms[1] = Math.max(norms[1]!, rows[mloc + lr]!);
    norms[2] = Math.max(norms[2]!, Math.abs(b));
  }
  for (let lc = 0; lc < nx; lc++) norms[3] = Math.max(norms[3]!, bad(Math.abs(xloc[lc]!)));
  norms[4] = singular ? 1 : 0;
  const g = (await comm.allreduce(norms, 'max')) as Float64Array;
  const residual = g[0]! / (HPL_EPS * (g[1]! * g[3]! + g[2]!) * N);
  const ok = g[4] === 0 && Number.isFinite(residual) && residual < HPL_THRESHOLD;

  let x: Float64Array | undefined;
  if (opts.returnX) {
    const cols = (await comm.allgather(myrow === 0 ? xloc.subarray(0, nx) : new Float64Array(0))) as Float64Array[];
    x = new Float64Array(N);
    for (let c = 0; c < Q; c++) {
      const xs = cols[c]!;
      for (let l = 0; l < xs.length; l++) x[(Math.floor(l / nb) * Q + c) * nb + (l % nb)] = xs[l]!;
    }
  }

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
