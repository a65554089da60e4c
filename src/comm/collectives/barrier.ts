// barrier by dissemination: ceil(log2 p) rounds of empty messages; in round k each rank
// signals rank+2^k and waits for rank-2^k.
import { EMPTY_PACKET } from '../../codec/index.js';
import { exchange, type Coll } from './coll.js';

export async function barrier(c: Coll): Promise<void> {
  const { rank, size } = c;
  for (let k = 1; k < size; k <<= 1) await exchange(c, (rank + k) % size, EMPTY_PACKET, (rank - k + size) % size);
}
