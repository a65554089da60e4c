// HPL's distributed LU factorisation with partial pivoting of [A | b], in place (steps 1-4
// and the look-ahead of ./hpl.ts): the panel's recursive factorisation with one pivot
// allreduce per column, its broadcast along the process rows, the row swaps and the U12 block
// row (one allgather per process column), and the trailing update, sliced when a panel is in
// flight.
import { copy, gemm, gemmRM, transpose, trsmLowerUnit, trsmLowerUnitRM } from './hpl-blas.js';
import { numroc, type LocalPart } from './hpl-matrix.js';

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

const LEAF = 8;
/** Rows of the trailing update between yields to the event loop, when a panel is in flight. */
const SLICE = 64;
const yieldNow = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** p, marked as handled while it is pending: its failure surfaces where it is awaited, not as an unhandled rejection. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

// ---- the loops of factorise, each its own small function so that V8 optimises it on its
// own (inside the big async function they ran unoptimised for long and boxed every double) ----

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

/** The factorisation's buffers, allocated before the clock starts. */
export interface LuWork {
  /** the panel being factored, column-major */
  W: Float64Array;
  /** the panel's message when Q = 1 (reused; with Q > 1 each panel gets a new one) */
  panelBuf: Float64Array;
  /** U12 */
  Ubuf: Float64Array;
}

export function luWork(loc: LocalPart): LuWork {
  const { nb, Q, mloc, nloc } = loc;
  const W = new Float64Array(Math.max(1, mloc) * nb); // the panel being factored, column-major
  const panelBuf = new Float64Array(Q > 1 ? 0 : nb + nb * nb + mloc * nb);
  const Ubuf = new Float64Array(nb * nloc); // U12
  return { W, panelBuf, Ubuf };
}

/**
 * Factor my part of [A | b] in place (collective over the grid): afterwards A holds U (and
 * the diagonal blocks) with b eliminated as column N. Returns whether a zero pivot was met.
 */
export async function factorise(loc: LocalPart, work: LuWork): Promise<boolean> {
  const { N, nb, P, Q, myrow, mycol, rowComm, colComm, mloc, nloc, ldr, gRow, rowOwner, localRow, A } = loc;
  const { W, panelBuf, Ubuf } = work;
  let singular = false;
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
  return singular;
}
