// The matrix of an HPL run and how it is spread over the ranks: entry (i, j) of [A | b] as a
// hash of (i, j, seed), so any rank can regenerate any entry; numroc; and one rank's part of
// [A | b] in the 2-D block-cyclic layout (LocalPart, made by distribute). The algorithm is
// described in ./hpl.ts.
import type { Comm } from '../comm/comm.js';

// ---- the matrix: entry (i, j) of [A | b] (b is column N) as a hash of (i, j, seed) ----
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
export const colHash = (j: number, seed: number): number => mix32(Math.imul(j + 1, 0x9e3779b1) ^ mix32(seed ^ 0x5bd1e995));
export const entryOf = (i: number, ch: number): number => mix32(Math.imul(i + 1, 0x27d4eb2f) ^ ch) / 4294967296 - 0.5;

/** How many of the first n global indices (in blocks of nb dealt round nprocs) belong to iproc (ScaLAPACK's numroc). */
export function numroc(n: number, nb: number, iproc: number, nprocs: number): number {
  const nblocks = Math.floor(n / nb);
  const base = Math.floor(nblocks / nprocs) * nb;
  const extra = nblocks % nprocs;
  if (iproc < extra) return base + nb;
  if (iproc === extra) return base + (n % nb);
  return base;
}

/** One rank's view of the run: the P x Q grid, its communicators and its part of [A | b]. */
export interface LocalPart {
  /** the order of A ([A | b] has N + 1 columns) */
  N: number;
  nb: number;
  P: number;
  Q: number;
  seed: number;
  /** my process row and column: rank r is at (floor(r / Q), r % Q) */
  myrow: number;
  mycol: number;
  /** my process row (rank = mycol) and my process column (rank = myrow) */
  rowComm: Comm;
  colComm: Comm;
  /** my part of [A | b]: mloc x nloc, row-major with leading dimension ldr (the swaps copy rows) */
  mloc: number;
  nloc: number;
  ldr: number;
  /** the global row of each local row, the global column of each local column */
  gRow: Int32Array;
  gCol: Int32Array;
  /** the process row that holds global row g, and its local row there */
  rowOwner: (g: number) => number;
  localRow: (g: number) => number;
  A: Float64Array;
}

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

/** My part of [A | b] on the P x Q grid, generated (collective on `comm`: two splits). */
export async function distribute(comm: Comm, N: number, nb: number, P: number, Q: number, seed: number): Promise<LocalPart> {
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
  return { N, nb, P, Q, seed, myrow, mycol, rowComm, colComm, mloc, nloc, ldr, gRow, gCol, rowOwner, localRow, A };
}
