// scatter's root side: the caller's parts (an Array of one value per rank, or one typed array
// split evenly or by counts) checked and encoded, one packet per rank.
import { encode, isTypedArray, type Packet } from '../codec/index.js';
import { OrchidError } from '../errors.js';

/** One packet per rank of `n`; bad parts are ERR_COUNT naming `rank`. */
export function splitParts(parts: unknown, counts: readonly number[] | undefined, n: number, rank: number): Packet[] {
  if (isTypedArray(parts)) {
    const len = parts.length;
    let cs: readonly number[];
    if (counts) {
      if (counts.length !== n || counts.some((x) => !Number.isInteger(x) || x < 0) || counts.reduce((a, b) => a + b, 0) !== len)
        throw new OrchidError('ERR_COUNT', `scatter: counts [${counts.join(', ')}] must be ${n} non-negative integers summing to ${len} (called on rank ${rank})`);
      cs = counts;
    } else {
      if (len % n !== 0)
        throw new OrchidError('ERR_COUNT', `scatter: a typed array of ${len} elements cannot be split evenly over ${n} ranks; pass { counts } (called on rank ${rank})`);
      cs = new Array(n).fill(len / n);
    }
    const out: Packet[] = [];
    let off = 0;
    for (const k of cs) {
      out.push(encode(parts.subarray(off, off + k), 'scatter'));
      off += k;
    }
    return out;
  }
  if (!Array.isArray(parts) || parts.length !== n)
    throw new OrchidError('ERR_COUNT', `scatter: the root must pass an Array of ${n} values or a typed array, got ${Array.isArray(parts) ? `${parts.length} values` : typeof parts} (called on rank ${rank})`);
  return parts.map((p) => encode(p, 'scatter'));
}
