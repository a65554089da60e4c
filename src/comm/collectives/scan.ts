// Inclusive and exclusive prefix reductions by recursive doubling (MPICH's algorithm):
// partial covers a growing block of ranks around this one; lower blocks combine on the left.
import { decode, encode } from '../../codec/index.js';
import type { Reducer } from '../ops.js';
import { exchange, type Coll } from './coll.js';

export async function scan(c: Coll, value: unknown, r: Reducer, exclusive: boolean): Promise<unknown> {
  const { rank, size } = c;
  let partial = value;
  let result: unknown = exclusive ? undefined : value;
  let have = !exclusive;
  for (let mask = 1; mask < size; mask <<= 1) {
    const dst = rank ^ mask;
    if (dst >= size) continue;
    const got = decode(await exchange(c, dst, encode(partial, c.call), dst));
    if (dst < rank) {
      partial = r.combine(got, partial);
      result = have ? r.combine(got, result) : got;
      have = true;
    } else partial = r.combine(partial, got);
  }
  return result;
}
