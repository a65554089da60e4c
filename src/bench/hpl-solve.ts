// The end of an HPL run: back substitution on U x = b' (by diagonal blocks from the bottom,
// one reduce along a process row and one bcast down a process column per block), the
// residual check on A and b generated afresh, and gathering x.
import type { Comm } from '../comm/comm.js';
import { colHash, entryOf, numroc, type LocalPart } from './hpl-matrix.js';

// ---- the loops, each its own small function so that V8 optimises it (see hpl-lu.ts) ----

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

/** My local column of b (global column N), or -1 when another process column holds it. */
function bColumn(loc: LocalPart): number {
  const { N, nb, Q, mycol } = loc;
  const qb = Math.floor(N / nb) % Q;
  return mycol === qb ? numroc(N, nb, mycol, Q) : -1;
}

/** How many of my local columns are columns of A (not b). */
function colsOfA(loc: LocalPart): number {
  const lcb = bColumn(loc);
  return lcb >= 0 ? lcb : loc.nloc;
}

/** Solve U x = b' on the factored part (collective over the grid); my columns of x (nloc entries). */
export async function backSubstitute(loc: LocalPart): Promise<Float64Array> {
  const { N, nb, P, Q, myrow, mycol, rowComm, colComm, mloc, nloc, ldr, A } = loc;
  const xloc = new Float64Array(nloc);
  const part = new Float64Array(mloc); // sum over the solved blocks in my columns of U_ij x_j
  const lcb = bColumn(loc);
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
  return xloc;
}

/**
 * The norms of the check (collective on `comm`), on A and b generated afresh, as every rank
 * sees them: [max |Ax-b|_i, ||A||_oo, ||b||_oo, ||x||_oo, 1 if a zero pivot was met]. Adds
 * `perturb` to x_0 in xloc first.
 */
export async function checkNorms(comm: Comm, loc: LocalPart, xloc: Float64Array, singular: boolean, perturb: number): Promise<Float64Array> {
  const { N, Q, seed, mycol, rowComm, mloc, nloc, gRow, gCol } = loc;
  if (mycol === 0 && nloc > 0) xloc[0] += perturb; // global column 0 is my local column 0
  const nx = colsOfA(loc); // my columns of A (not b)
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
  return (await comm.allreduce(norms, 'max')) as Float64Array;
}

/** The whole x, on every rank (collective on `comm`): the process row 0 sends its columns. */
export async function gatherX(comm: Comm, loc: LocalPart, xloc: Float64Array): Promise<Float64Array> {
  const { N, nb, Q, myrow } = loc;
  const nx = colsOfA(loc);
  const cols = (await comm.allgather(myrow === 0 ? xloc.subarray(0, nx) : new Float64Array(0))) as Float64Array[];
  const x = new Float64Array(N);
  for (let c = 0; c < Q; c++) {
    const xs = cols[c]!;
    for (let l = 0; l < xs.length; l++) x[(Math.floor(l / nb) * Q + c) * nb + (l % nb)] = xs[l]!;
  }
  return x;
}
