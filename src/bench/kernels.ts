// Application kernels. Each one checks its own answer: a kernel that does not verify is
// a failed run. Every kernel is collective over `comm` and returns the same object on
// every rank (verified is agreed with an allreduce).
import type { CartComm } from '../comm/cart.js';
import type { Comm } from '../comm/comm.js';
import { hplFlops, hplRun } from './hpl.js';

export interface KernelResult {
  verified: boolean;
  /** what the check found, for the report when it fails */
  detail: string;
  /** the timed part in seconds, when the kernel times itself (hpl: factor + solve, not set-up and check) */
  seconds?: number;
}

export interface HybridPool {
  threads: number;
  run(task: Record<string, unknown>): Promise<number>;
}

export type KernelFn = (comm: Comm, size: number, pool?: HybridPool) => Promise<KernelResult>;

export const KERNEL_NAMES = ['pi', 'matmul', 'stencil', 'sort', 'primes', 'hpl'] as const;
export type KernelName = (typeof KERNEL_NAMES)[number];
/** Kernels that can run a piscina pool inside each rank (hybrid mode). */
export const HYBRID_KERNELS: readonly KernelName[] = ['pi', 'primes'];

/** Block [lo, hi) of n items for rank r of p. */
export function block(n: number, r: number, p: number): [number, number] {
  const q = Math.floor(n / p);
  const rem = n % p;
  const lo = r * q + Math.min(r, rem);
  return [lo, lo + q + (r < rem ? 1 : 0)];
}

async function agree(comm: Comm, ok: boolean, detail: string): Promise<KernelResult> {
  const all = (await comm.allreduce(ok ? 1 : 0, 'min')) as number;
  return { verified: all === 1, detail: all === 1 ? detail : ok ? `another rank failed: ${detail}` : detail };
}

// ---- pi: midpoint rule for the integral of 4/(1+x^2) on [0,1], n intervals ----
export function piPartial(n: number, lo: number, hi: number): number {
  const h = 1 / n;
  let s = 0;
  for (let i = lo; i < hi; i++) {
    const x = (i + 0.5) * h;
    s += 4 / (1 + x * x);
  }
  return s * h;
}

async function splitOverPool(pool: HybridPool, lo: number, hi: number, task: (a: number, b: number) => Record<string, unknown>): Promise<number> {
  const parts: Promise<number>[] = [];
  for (let t = 0; t < pool.threads; t++) {
    const [a, b] = block(hi - lo, t, pool.threads);
    parts.push(pool.run(task(lo + a, lo + b)));
  }
  return (await Promise.all(parts)).reduce((x, y) => x + y, 0);
}

export const pi: KernelFn = async (comm, n, pool) => {
  const [lo, hi] = block(n, comm.rank, comm.size);
  const part = pool ? await splitOverPool(pool, lo, hi, (a, b) => ({ kernel: 'pi', n, lo: a, hi: b })) : piPartial(n, lo, hi);
  const total = (await comm.allreduce(part, 'sum')) as number;
  const err = Math.abs(total - Math.PI);
  // midpoint error ~ 1/(24 n^2) plus rounding of n terms
  const tol = Math.max(1e-9, 1 / (12 * n * n)) + n * 1e-15;
  return agree(comm, err <= tol, `pi ≈ ${total}, error ${err.toExponential(2)} (tolerance ${tol.toExponential(1)})`);
};

// ---- primes: count primes < n by trial division (odd numbers dealt out cyclically) ----
export function primesPartial(n: number, start: number, step: number): number {
  // counts primes among odd m = 3 + 2k (k = start, start+step, …) with m < n
  let count = 0;
  for (let m = 3 + 2 * start; m < n; m += 2 * step) {
    let prime = true;
    for (let d = 3; d * d <= m; d += 2) {
      if (m % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

/** Sieve of Eratosthenes: the reference count of primes < n. */
export function sieveCount(n: number): number {
  if (n < 3) return 0;
  const comp = new Uint8Array(n);
  let count = 0;
  for (let i = 2; i < n; i++) {
    if (comp[i]) continue;
    count++;
    for (let j = i * i; j < n; j += i) comp[j] = 1;
  }
  return count;
}

export const primes: KernelFn = async (comm, n, pool) => {
  let part: number;
  if (pool) {
    // rank r takes odd-index class r mod p; its threads split that class further
    const step = comm.size * pool.threads;
    const tasks: Promise<number>[] = [];
    for (let t = 0; t < pool.threads; t++) tasks.push(pool.run({ kernel: 'primes', n, start: comm.rank * pool.threads + t, step }));
    part = (await Promise.all(tasks)).reduce((a, b) => a + b, 0);
  } else {
    part = primesPartial(n, comm.rank, comm.size);
  }
  const total = ((await comm.reduce(part, 'sum', 0)) as number | undefined) ?? 0;
  let ok = true;
  let detail = '';
  if (comm.rank === 0) {
    const want = n > 2 ? sieveCount(n) : 0;
    const got = total + (n > 2 ? 1 : 0); // 2 is the even prime
    ok = got === want;
    detail = `π(${n}) = ${got}, sieve says ${want}`;
  }
  return agree(comm, ok, detail);
};

// ---- deterministic pseudo-random numbers (xorshift32) ----
export function xorshift(seed: number): () => number {
  let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

// ---- matmul: C = A B, n x n. Root owns A and B; B is broadcast, A scattered by row
// blocks, C gathered. Verified at the root with Freivalds' check C x == A (B x). ----
export function matmulRows(a: Float64Array, b: Float64Array, rows: number, n: number): Float64Array {
  const c = new Float64Array(rows * n);
  for (let i = 0; i < rows; i++) {
    const ci = i * n;
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k]!;
      const bk = k * n;
      for (let j = 0; j < n; j++) c[ci + j]! += aik * b[bk + j]!;
    }
  }
  return c;
}

function fill(n: number, seed: number): Float64Array {
  const r = xorshift(seed);
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() % 2001) / 1000 - 1;
  return a;
}

/** size = rows of A (and of C); B is n x n with n = the `cols` value (square when strong). */
export async function matmulRect(comm: Comm, rowsTotal: number, n: number): Promise<KernelResult> {
  const p = comm.size;
  let a: Float64Array | undefined;
  let b: Float64Array | undefined;
  if (comm.rank === 0) {
    a = fill(rowsTotal * n, 1);
    b = fill(n * n, 2);
  }
  const counts = Array.from({ length: p }, (_, r) => {
    const [lo, hi] = block(rowsTotal, r, p);
    return (hi - lo) * n;
  });
  b = (await comm.bcast(b, 0)) as Float64Array;
  const mine = (await comm.scatter(a, 0, { counts })) as Float64Array;
  const c = matmulRows(mine, b, mine.length / n, n);
  const parts = (await comm.gather(c, 0)) as Float64Array[] | undefined;
  let ok = true;
  let detail = '';
  if (comm.rank === 0) {
    const C = new Float64Array(rowsTotal * n);
    let off = 0;
    for (const part of parts!) {
      C.set(part, off);
      off += part.length;
    }
    const x = fill(n, 3);
    const bx = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += b[i * n + j]! * x[j]!;
      bx[i] = s;
    }
    let worst = 0;
    for (let i = 0; i < rowsTotal; i++) {
      let abx = 0;
      let cx = 0;
      for (let j = 0; j < n; j++) {
        abx += a![i * n + j]! * bx[j]!;
        cx += C[i * n + j]! * x[j]!;
      }
      worst = Math.max(worst, Math.abs(abx - cx) / (1 + Math.abs(abx)));
    }
    ok = off === rowsTotal * n && worst < 1e-9 * n;
    detail = `Freivalds check: max relative difference ${worst.toExponential(2)} over ${rowsTotal} rows`;
  }
  return agree(comm, ok, detail);
}

export const matmul: KernelFn = (comm, n) => matmulRect(comm, n, n);

// ---- 2-D Jacobi stencil on an n x n interior with zero boundary, row blocks, halo
// exchange with the neighbours every sweep. Starts from the lowest eigenmode
// sin(pi i/(n+1)) sin(pi j/(n+1)), which one Jacobi sweep scales by exactly
// cos(pi/(n+1)): after T sweeps it must equal cos^T times the start. ----
export const STENCIL_SWEEPS = 50;

/**
 * The 1-D grid of the first `active` ranks (null on the others), made once per communicator
 * and size as a program makes its topology once: the timed runs do the same work as before.
 */
const stencilGrids = new WeakMap<Comm, Map<number, Promise<CartComm | null>>>();
function stencilGrid(comm: Comm, active: number): Promise<CartComm | null> {
  let byActive = stencilGrids.get(comm);
  if (!byActive) stencilGrids.set(comm, (byActive = new Map()));
  let g = byActive.get(active);
  if (!g) byActive.set(active, (g = comm.cart([active], [false])));
  return g;
}

export async function stencilRect(comm: Comm, rowsTotal: number, n: number, sweeps = STENCIL_SWEEPS): Promise<KernelResult> {
  const p = comm.size;
  const [lo, hi] = block(rowsTotal, comm.rank, p);
  const rows = hi - lo;
  const w = n + 2; // with boundary columns
  let u = new Float64Array((rows + 2) * w);
  let v = new Float64Array((rows + 2) * w);
  const sx = Math.PI / (n + 1);
  const sy = Math.PI / (rowsTotal + 1);
  const colv = new Float64Array(w);
  for (let j = 1; j <= n; j++) colv[j] = Math.sin(j * sx);
  for (let i = 0; i < rows; i++) {
    const si = Math.sin((lo + i + 1) * sy);
    for (let j = 1; j <= n; j++) u[(i + 1) * w + j] = si * colv[j]!;
  }
  // the row blocks on a 1-D non-periodic grid: with fewer rows than ranks the last ranks hold
  // none, are not in the grid (null) and take no part in the exchange
  const grid = await stencilGrid(comm, Math.min(rowsTotal, p));
  const { source: up, dest: down } = grid ? grid.shift(0, 1) : { source: null, dest: null };
  for (let t = 0; t < sweeps; t++) {
    // halo exchange: my first row goes up, my last row goes down (tags 1 / 2)
    const pending: Promise<unknown>[] = [];
    if (up !== null) {
      pending.push(grid!.send(u.subarray(w, 2 * w), up, 1));
      pending.push((grid!.recv(up, 2) as Promise<Float64Array>).then((r) => u.set(r, 0)));
    }
    if (down !== null) {
      pending.push(grid!.send(u.subarray(rows * w, (rows + 1) * w), down, 2));
      pending.push((grid!.recv(down, 1) as Promise<Float64Array>).then((r) => u.set(r, (rows + 1) * w)));
    }
    await Promise.all(pending);
    for (let i = 1; i <= rows; i++) {
      const r0 = i * w;
      for (let j = 1; j <= n; j++) v[r0 + j] = 0.25 * (u[r0 + j - w]! + u[r0 + j + w]! + u[r0 + j - 1]! + u[r0 + j + 1]!);
    }
    const tmp = u;
    u = v;
    v = tmp;
  }
  const lambda = Math.pow((Math.cos(sx) + Math.cos(sy)) / 2, sweeps);
  let worst = 0;
  for (let i = 0; i < rows; i++) {
    const si = Math.sin((lo + i + 1) * sy);
    for (let j = 1; j <= n; j++) worst = Math.max(worst, Math.abs(u[(i + 1) * w + j]! - lambda * si * colv[j]!));
  }
  const maxErr = (await comm.allreduce(worst, 'max')) as number;
  return agree(comm, maxErr < 1e-12, `max |u - cos^T·u0| = ${maxErr.toExponential(2)} after ${sweeps} sweeps (cos^T = ${lambda.toPrecision(6)})`);
}

export const stencil: KernelFn = (comm, n) => stencilRect(comm, n, n);

// ---- sample sort of `size` uint32 keys spread over the ranks. Checked: every rank's
// output sorted, rank boundaries in order, and the output a permutation of the input
// (same count, same sum, same sum of hashed keys). ----
const hashKey = (k: number): number => Math.imul(k ^ (k >>> 16), 0x45d9f3b) >>> 0;

export const sort: KernelFn = async (comm, size) => {
  const p = comm.size;
  const [lo, hi] = block(size, comm.rank, p);
  const rnd = xorshift(1000 + comm.rank);
  const keys = new Uint32Array(hi - lo);
  for (let i = 0; i < keys.length; i++) keys[i] = rnd();
  let sumIn = 0;
  let hashIn = 0;
  for (const k of keys) {
    sumIn = (sumIn + k) % 4294967291;
    hashIn = (hashIn + hashKey(k)) % 4294967291;
  }
  keys.sort();
  let out: Uint32Array;
  if (p === 1) {
    out = keys;
  } else {
    // p-1 regular samples from each rank, splitters from the gathered samples
    const s = new Uint32Array(p - 1);
    for (let i = 0; i < p - 1; i++) s[i] = keys.length ? keys[Math.floor(((i + 1) * keys.length) / p)]! : 0;
    const all = (await comm.allgather(s)) as Uint32Array[];
    const samples = new Uint32Array(p * (p - 1));
    all.forEach((x, i) => samples.set(x, i * (p - 1)));
    samples.sort();
    const splitters = Array.from({ length: p - 1 }, (_, i) => samples[(i + 1) * (p - 1) - 1]!);
    const parts: Uint32Array[] = [];
    let start = 0;
    for (let b = 0; b < p; b++) {
      let end = keys.length;
      if (b < p - 1) {
        // first index with key > splitter[b]
        let l = start;
        let h = keys.length;
        const sp = splitters[b]!;
        while (l < h) {
          const m = (l + h) >>> 1;
          if (keys[m]! <= sp) l = m + 1;
          else h = m;
        }
        end = l;
      }
      parts.push(keys.slice(start, end));
      start = end;
    }
    const got = (await comm.alltoall(parts)) as Uint32Array[];
    const n = got.reduce((a, g) => a + g.length, 0);
    out = new Uint32Array(n);
    let off = 0;
    for (const g of got) {
      out.set(g, off);
      off += g.length;
    }
    out.sort();
  }
  let sorted = true;
  for (let i = 1; i < out.length; i++) if (out[i - 1]! > out[i]!) sorted = false;
  let sumOut = 0;
  let hashOut = 0;
  for (const k of out) {
    sumOut = (sumOut + k) % 4294967291;
    hashOut = (hashOut + hashKey(k)) % 4294967291;
  }
  const ends = (await comm.allgather(out.length ? [out[0]!, out[out.length - 1]!] : null)) as ([number, number] | null)[];
  let ordered = true;
  let last = -1;
  for (const e of ends) {
    if (!e) continue;
    if (e[0] < last) ordered = false;
    last = e[1];
  }
  const tot = (await comm.allreduce([out.length, sumIn, sumOut, hashIn, hashOut], 'sum')) as number[];
  const perm = tot[0] === size && tot[1]! % 4294967291 === tot[2]! % 4294967291 && tot[3]! % 4294967291 === tot[4]! % 4294967291;
  const ok = sorted && ordered && perm;
  return agree(comm, ok, `${size} keys: sorted=${sorted}, ranks in order=${ordered}, permutation=${perm}`);
};

export const hpl: KernelFn = (comm, n) => hplRun(comm, n);

export const KERNELS: Record<KernelName, KernelFn> = { pi, matmul, stencil, sort, primes, hpl };

/**
 * The rate each kernel reports: `work(size, cols)` units of work for one run (cols: the
 * columns of matmul and stencil, which weak scaling keeps at the base size), so rate =
 * work / seconds in `unit`. These are the figures to set beside another cluster's.
 */
export const KERNEL_RATES: Record<KernelName, { unit: string; work: (size: number, cols: number) => number }> = {
  pi: { unit: 'intervals/s', work: (n) => n },
  matmul: { unit: 'GFLOP/s', work: (rows, n) => (2 * rows * n * n) / 1e9 },
  stencil: { unit: 'M cell-updates/s', work: (rows, n) => (rows * n * STENCIL_SWEEPS) / 1e6 },
  sort: { unit: 'M keys/s', work: (n) => n / 1e6 },
  primes: { unit: 'numbers/s', work: (n) => n },
  hpl: { unit: 'GFLOP/s', work: (n) => hplFlops(n) / 1e9 },
};

/**
 * The problem for a kernel at `ranks` ranks. Strong scaling: the base size. Weak scaling:
 * the work per rank stays the base's (pi, primes, sort: n x ranks; matmul, stencil: rows x
 * ranks with the same columns). Returns how to call the kernel and a size label.
 */
export function weakRun(kernel: KernelName, base: number, ranks: number): { size: number; run: KernelFn } {
  switch (kernel) {
    case 'hpl': {
      // memory per rank stays the base's: N grows with the square root of the ranks
      const n = hplWeakN(base, ranks);
      return { size: n, run: (c) => hplRun(c, n) };
    }
    case 'matmul':
      return { size: base * ranks, run: (c) => matmulRect(c, base * ranks, base) };
    case 'stencil':
      return { size: base * ranks, run: (c) => stencilRect(c, base * ranks, base) };
    case 'primes':
      // trial division costs ~ n^1.5 / log n: grow n so the work per rank stays about the same
      return { size: Math.round(base * Math.pow(ranks, 2 / 3)), run: (c, _s, pool) => primes(c, Math.round(base * Math.pow(ranks, 2 / 3)), pool) };
    default:
      return { size: base * ranks, run: (c, _s, pool) => KERNELS[kernel](c, base * ranks, pool) };
  }
}

/** HPL's N at `ranks` ranks when one rank takes `base` (the same matrix memory per rank), a multiple of 8. */
export function hplWeakN(base: number, ranks: number): number {
  return Math.max(8, Math.round((base * Math.sqrt(ranks)) / 8) * 8);
}

/** The size label and the units of work of one run of a kernel at `ranks` ranks. */
export function kernelWork(kernel: KernelName, scaling: 'strong' | 'weak', base: number, ranks: number): { size: number; work: number } {
  const size = scaling === 'weak' ? weakRun(kernel, base, ranks).size : base;
  const cols = scaling === 'weak' && (kernel === 'matmul' || kernel === 'stencil') ? base : size;
  return { size, work: KERNEL_RATES[kernel].work(size, cols) };
}
