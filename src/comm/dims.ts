// dimsCreate(): a balanced Cartesian grid for n processes, as MPI_Dims_create. Local: it
// never communicates, and every rank computes the same answer.
import { OrchidError } from '../errors.js';

/**
 * The sizes of an `ndims`-dimensional grid of `n` processes, as close to each other as
 * possible (the smallest difference between the largest and the smallest size, then the
 * smallest largest one), in non-increasing order. Entries of `dims` other than 0 are kept
 * as given and the zeros filled; `n` must then be a multiple of the product of the kept ones.
 * A prime `n` gives `[n, 1, …]`.
 */
export function dimsCreate(n: number, ndims: number, dims?: readonly number[]): number[] {
  const call = 'dimsCreate';
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw new TypeError(`${call}: n must be a positive integer, got ${String(n)}`);
  if (typeof ndims !== 'number' || !Number.isInteger(ndims) || ndims < 0) throw new TypeError(`${call}: ndims must be a non-negative integer, got ${String(ndims)}`);
  const given = dims ?? new Array<number>(ndims).fill(0);
  if (!Array.isArray(given) || given.length !== ndims)
    throw new OrchidError('ERR_ARG', `${call}: dims must be an Array of ${ndims} entries, got ${Array.isArray(given) ? `${given.length} entries` : typeof given}`);
  let fixed = 1;
  for (const d of given) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) throw new TypeError(`${call}: dims entries must be non-negative integers (0: to fill in), got ${String(d)}`);
    if (d > 0) fixed *= d;
  }
  const free = given.filter((d) => d === 0).length;
  if (n % fixed !== 0 || (free === 0 && fixed !== n))
    throw new OrchidError('ERR_ARG', `${call}: ${n} processes do not fill a grid of [${given.join(', ')}]${free ? ` (${n} is not a multiple of ${fixed})` : ''}`);
  const fill = balanced(n / fixed, free);
  let k = 0;
  return given.map((d) => (d === 0 ? fill[k++]! : d));
}

/** The most balanced non-increasing factorisation of m into k factors. */
function balanced(m: number, k: number): number[] {
  if (k === 0) return [];
  let best: number[] | undefined;
  const cur: number[] = [];
  // factors in non-increasing order: the next one divides what is left and is at most the last
  const search = (left: number, slots: number, cap: number): void => {
    if (slots === 1) {
      if (left > cap) return;
      cur.push(left);
      if (!best || better(cur, best)) best = [...cur];
      cur.pop();
      return;
    }
    // the largest of `slots` factors is at least left^(1/slots)
    const low = Math.ceil(Math.pow(left, 1 / slots) - 1e-9);
    for (let f = Math.min(cap, left); f >= low; f--) {
      if (left % f !== 0) continue;
      cur.push(f);
      search(left / f, slots - 1, f);
      cur.pop();
      if (best && best[0]! - best[best.length - 1]! === 0) return; // cannot do better than equal
    }
  };
  search(m, k, m);
  return best!;
}

/** a beats b: a smaller spread, then a smaller largest factor. */
function better(a: number[], b: number[]): boolean {
  const sa = a[0]! - a[a.length - 1]!;
  const sb = b[0]! - b[b.length - 1]!;
  return sa !== sb ? sa < sb : a[0]! < b[0]!;
}
