// allreduce: recursive doubling for small values (log2 rounds, MPICH's fold for sizes that
// are not powers of two, rank order kept for custom ops); ring reduce-scatter + allgather
// for large typed arrays (each rank sends 2(p-1)/p of the data: bandwidth-optimal).
import { decode, encode, isTypedArray, type TypedArray } from '../../codec/index.js';
import { OrchidError } from '../../errors.js';
import type { Reducer } from '../ops.js';
import { exchange, type Coll } from './coll.js';

/** Typed arrays at least this large (bytes) take the ring. */
export const RING_MIN_BYTES = 64 * 1024;

export function allreduce(c: Coll, value: unknown, r: Reducer): Promise<unknown> {
  if (c.size > 1 && r.builtin && isTypedArray(value) && value.byteLength >= RING_MIN_BYTES && value.length >= c.size)
    return ring(c, value, r);
  return recursiveDoubling(c, value, r);
}

async function recursiveDoubling(c: Coll, value: unknown, r: Reducer): Promise<unknown> {
  const { rank, size } = c;
  let pof2 = 1;
  while (pof2 * 2 <= size) pof2 *= 2;
  const rem = size - pof2;
  let acc = value;
  let newrank: number;
  // Fold the first 2*rem ranks in pairs, so pof2 ranks remain, each a contiguous block.
  if (rank < 2 * rem) {
    if (rank % 2 === 0) {
      await c.send(rank + 1, encode(acc, c.call));
      newrank = -1;
    } else {
      acc = r.combine(decode(await c.recv(rank - 1)), acc);
      newrank = rank >> 1;
    }
  } else newrank = rank - rem;
  if (newrank >= 0) {
    for (let mask = 1; mask < pof2; mask <<= 1) {
      const nd = newrank ^ mask;
      const dst = nd < rem ? nd * 2 + 1 : nd + rem;
      const got = decode(await exchange(c, dst, encode(acc, c.call), dst));
      acc = dst < rank ? r.combine(got, acc) : r.combine(acc, got);
    }
  }
  if (rank < 2 * rem) {
    if (rank % 2 === 1) await c.send(rank - 1, encode(acc, c.call));
    else acc = decode(await c.recv(rank + 1));
  }
  return acc;
}

async function ring(c: Coll, value: TypedArray, r: Reducer): Promise<TypedArray> {
  const { rank, size } = c;
  const n = value.length;
  const acc = value.slice() as TypedArray; // never write into the caller's array
  const base = Math.floor(n / size);
  const extra = n % size;
  const start = (i: number) => i * base + Math.min(i, extra);
  const chunk = (i: number) => acc.subarray(start(i), start(i + 1)) as TypedArray;
  const right = (rank + 1) % size;
  const left = (rank - 1 + size) % size;
  const take = (got: unknown, into: TypedArray): TypedArray => {
    if (!isTypedArray(got) || got.constructor !== into.constructor || got.length !== into.length)
      throw new OrchidError('ERR_COUNT', `${c.call}: rank ${rank} got a block of ${describe(got)} from rank ${left}, expected ${into.length} ${into.constructor.name} elements (typed arrays must have the same length and kind on every rank)`);
    return got;
  };
  for (let s = 0; s < size - 1; s++) {
    const into = chunk((rank - s - 1 + size) % size);
    const got = decode(await exchange(c, right, encode(chunk((rank - s + size) % size), c.call), left));
    r.combineInto(into, take(got, into));
  }
  for (let s = 0; s < size - 1; s++) {
    const into = chunk((rank - s + size) % size);
    const got = decode(await exchange(c, right, encode(chunk((rank - s + 1 + size) % size), c.call), left));
    into.set(take(got, into) as never);
  }
  return acc;
}

function describe(v: unknown): string {
  return isTypedArray(v) ? `${v.length} ${v.constructor.name} elements` : typeof v;
}
