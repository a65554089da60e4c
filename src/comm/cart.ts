// CartComm: a communicator with a Cartesian topology (README.md, "Cartesian grids"), as
// MPI_Cart_create and its companions. The grid is laid out in row-major order over the
// ranks (the last dimension varies fastest) and ranks keep their order (reorder is
// accepted, as MPI allows, without renumbering). It is made with the parent's split(), so it
// works on every transport; coordinates, neighbours and ranks are then local arithmetic.
import { OrchidError } from '../errors.js';
import type { CommBackend } from './comm-backend.js';
import { Comm, SPLIT_AS, type Runtime } from './comm.js';
import { describe } from './group.js';
import { checkRank } from './validate.js';

/** The neighbours of shift(): null off the edge of a non-periodic dimension (MPI_PROC_NULL). */
export interface Shift {
  /** the rank `disp` steps back along the dimension: the one to receive from */
  source: number | null;
  /** the rank `disp` steps ahead: the one to send to */
  dest: number | null;
}

/** A grid's shape: sizes and periodicity per dimension. */
interface Topology {
  dims: readonly number[];
  periods: readonly boolean[];
}

const product = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** A 31-bit hash of numbers: what keeps the ranks that pass different grids out of each other's. */
export function hashOf(xs: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const x of xs) {
    h = Math.imul(h ^ (x & 0xffff), 0x01000193);
    h = Math.imul(h ^ Math.floor(x / 0x10000), 0x01000193);
  }
  return (h >>> 1) & 0x3fffffff;
}

/** The topology of cart(dims, periods, reorder), checked; throws on a bad argument. */
function checkTopology(call: string, me: number, size: number, dims: unknown, periods: unknown, reorder: unknown): Topology {
  if (!Array.isArray(dims) || !dims.every((d) => typeof d === 'number' && Number.isInteger(d)))
    throw new TypeError(`${call}: dims must be an Array of integers, got ${describe(dims)} (called on rank ${me})`);
  if (dims.some((d) => d < 1)) throw new OrchidError('ERR_ARG', `${call}: dims [${dims.join(', ')}] must all be at least 1 (dimsCreate fills zeros; called on rank ${me})`);
  const ps = periods === undefined ? dims.map(() => false) : periods;
  if (!Array.isArray(ps) || !ps.every((p) => typeof p === 'boolean'))
    throw new TypeError(`${call}: periods must be an Array of booleans, got ${describe(periods)} (called on rank ${me})`);
  if (ps.length !== dims.length)
    throw new OrchidError('ERR_ARG', `${call}: ${ps.length} periods for ${dims.length} dims (one per dimension; called on rank ${me})`);
  if (typeof reorder !== 'boolean') throw new TypeError(`${call}: reorder must be a boolean, got ${describe(reorder)} (called on rank ${me})`);
  const n = product(dims);
  if (n > size) throw new OrchidError('ERR_ARG', `${call}: a grid of [${dims.join(', ')}] needs ${n} ranks, the communicator has ${size} (called on rank ${me})`);
  return { dims: Object.freeze([...dims]), periods: Object.freeze([...ps]) };
}

/**
 * Join a split for `call` as `color` (or as a non-member when `topo` is an error), then
 * check that the communicator has the `expected` size: members that passed other arguments
 * end up in other communicators, and that is ERR_COLLECTIVE here, never a hang.
 */
async function splitGrid(comm: Comm, call: string, topo: Topology | Error, color: number, expected: number, what: () => string): Promise<CartComm | null> {
  const bad = topo instanceof Error;
  const made = await comm[SPLIT_AS](call, bad ? -1 : color, comm.rank, (rt: Runtime, be: CommBackend) => new CartComm(rt, be, topo as Topology));
  if (bad) throw topo;
  if (made && made.size !== expected)
    throw new OrchidError(
      'ERR_COLLECTIVE',
      `${call}: rank ${comm.rank} asked for ${what()}, but ${made.size} of the ${expected} ranks it needs did so: the others passed other arguments (every rank must pass the same)`,
    );
  return made;
}

/** comm.cart(): every rank below the grid's size gets a CartComm, the others null. */
export function cartCreate(comm: Comm, dims: readonly number[], periods: readonly boolean[] | undefined, reorder: boolean): Promise<CartComm | null> {
  const call = 'cart';
  let topo: Topology | Error;
  try {
    topo = checkTopology(call, comm.rank, comm.size, dims, periods, reorder);
  } catch (e) {
    topo = e as Error;
  }
  const t = topo;
  const n = t instanceof Error ? 0 : product(t.dims);
  const color = t instanceof Error || comm.rank >= n ? -1 : hashOf([...t.dims, ...t.periods.map(Number)]);
  return splitGrid(comm, call, t, color, n, () => (t instanceof Error ? '' : `a grid of [${t.dims.join(', ')}] with periods [${t.periods.join(', ')}]`));
}

export class CartComm extends Comm {
  /** the grid's size in each dimension */
  readonly dims: readonly number[];
  /** whether each dimension wraps around */
  readonly periods: readonly boolean[];
  /** this rank's coordinates */
  readonly coords: readonly number[];

  /** @internal grids come from comm.cart(), sub() and dup() */
  constructor(rt: Runtime, backend: CommBackend, topo: Topology) {
    super(rt, backend);
    this.dims = topo.dims;
    this.periods = topo.periods;
    this.coords = Object.freeze(this.coordsOf(this.rank));
  }

  /** number of dimensions */
  get ndims(): number {
    return this.dims.length;
  }

  /** The rank at `coords`; periodic dimensions wrap, off a non-periodic one is ERR_RANK (MPI_Cart_rank). */
  rankOf(coords: readonly number[]): number {
    const call = 'cart.rankOf';
    if (!Array.isArray(coords) || coords.length !== this.ndims || !coords.every((c) => typeof c === 'number' && Number.isInteger(c)))
      throw new TypeError(`${call}: coords must be an Array of ${this.ndims} integers, got ${describe(coords)} (called on rank ${this.rank})`);
    let r = 0;
    for (let i = 0; i < this.ndims; i++) {
      const d = this.dims[i]!;
      let c = coords[i]!;
      if (c < 0 || c >= d) {
        if (!this.periods[i])
          throw new OrchidError('ERR_RANK', `${call}: coordinate ${c} of dimension ${i} is outside 0…${d - 1} and the dimension is not periodic (coords [${coords.join(', ')}]; called on rank ${this.rank})`);
        c = ((c % d) + d) % d;
      }
      r = r * d + c;
    }
    return r;
  }

  /** The coordinates of `rank` (MPI_Cart_coords). */
  coordsOf(rank: number): number[] {
    const r0 = checkRank('cart.coordsOf', this.rank, this.size, rank, 'rank');
    const out = new Array<number>(this.ndims);
    let r = r0;
    for (let i = this.ndims - 1; i >= 0; i--) {
      const d = this.dims[i]!;
      out[i] = r % d;
      r = Math.floor(r / d);
    }
    return out;
  }

  /**
   * The ranks `disp` steps back (source) and ahead (dest) of this one along dimension `dim`
   * (MPI_Cart_shift): null off the edge of a non-periodic dimension.
   */
  shift(dim: number, disp = 1): Shift {
    const call = 'cart.shift';
    if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 0 || dim >= this.ndims)
      throw new OrchidError('ERR_ARG', `${call}: dimension ${describe(dim)} is not one of 0…${this.ndims - 1} (called on rank ${this.rank})`);
    if (typeof disp !== 'number' || !Number.isInteger(disp)) throw new TypeError(`${call}: disp must be an integer, got ${describe(disp)} (called on rank ${this.rank})`);
    const at = (step: number): number | null => {
      const c = [...this.coords];
      c[dim] = c[dim]! + step;
      if (!this.periods[dim] && (c[dim]! < 0 || c[dim]! >= this.dims[dim]!)) return null;
      return this.rankOf(c);
    };
    return { source: at(-disp), dest: at(disp) };
  }

  /**
   * The sub-grids that keep the dimensions where `remainDims` is true (MPI_Cart_sub):
   * collective; each rank gets the grid of the ranks that share its coordinates in the
   * dropped dimensions. All false gives a grid of one (no dimensions).
   */
  sub(remainDims: readonly boolean[]): Promise<CartComm> {
    const call = 'cart.sub';
    let topo: Topology | Error;
    let color = -1;
    try {
      if (!Array.isArray(remainDims) || remainDims.length !== this.ndims || !remainDims.every((b) => typeof b === 'boolean'))
        throw new TypeError(`${call}: remainDims must be an Array of ${this.ndims} booleans, got ${describe(remainDims)} (called on rank ${this.rank})`);
      topo = { dims: Object.freeze(this.dims.filter((_, i) => remainDims[i])), periods: Object.freeze(this.periods.filter((_, i) => remainDims[i])) };
      // the colour: which sub-grid (the coordinates in the dropped dimensions) and, apart from
      // it, which remainDims (ranks that pass others do not end up in one communicator)
      let which = 0;
      for (let i = 0; i < this.ndims; i++) if (!remainDims[i]) which = which * this.dims[i]! + this.coords[i]!;
      color = hashOf(remainDims.map(Number)) * 2 ** 22 + which;
    } catch (e) {
      topo = e as Error;
    }
    const t = topo;
    const n = t instanceof Error ? 0 : product(t.dims);
    return splitGrid(this, call, t, color, n, () => `the sub-grid keeping dimensions [${remainDims.join(', ')}] of [${this.dims.join(', ')}]`) as Promise<CartComm>;
  }

  /** The same grid over a separate message space (MPI_Comm_dup keeps the topology). */
  override dup(): Promise<CartComm> {
    const topo: Topology = { dims: this.dims, periods: this.periods };
    return this[SPLIT_AS]('dup', 0, this.rank, (rt: Runtime, be: CommBackend) => new CartComm(rt, be, topo)) as Promise<CartComm>;
  }
}
