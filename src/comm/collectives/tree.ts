// Binomial trees: bcast down from the root, reduce up to it (log2(size) rounds).
import { decode, encode, type Packet } from '../../codec/index.js';
import type { Reducer } from '../ops.js';
import type { Coll } from './coll.js';

/** The root's packet, delivered to every rank along a binomial tree. */
export async function bcastPacket(c: Coll, pkt: Packet | undefined, root: number): Promise<Packet> {
  const { rank, size } = c;
  const rel = (rank - root + size) % size;
  let mask = 1;
  while (mask < size) {
    if (rel & mask) {
      pkt = await c.recv((rank - mask + size) % size);
      break;
    }
    mask <<= 1;
  }
  mask >>= 1;
  const sends: Promise<void>[] = [];
  for (; mask > 0; mask >>= 1) if (rel + mask < size) sends.push(c.send((rank + mask) % size, pkt!));
  await Promise.all(sends);
  return pkt!;
}

/**
 * Reduce along a binomial tree to `root`. Each rank combines the block of ranks above it,
 * so the order is rank order relative to the root (ranks root … size-1 before 0 … root-1):
 * right for ops that commute. For a custom function without `commute: true` the tree is
 * rooted at 0 and the result forwarded to the root, so the order is plain rank order.
 */
export async function reduceTree(c: Coll, value: unknown, r: Reducer, root: number): Promise<unknown> {
  const { rank, size } = c;
  const treeRoot = r.commute ? root : 0;
  const rel = (rank - treeRoot + size) % size;
  let acc = value;
  for (let mask = 1; mask < size; mask <<= 1) {
    if (rel & mask) {
      await c.send((rank - mask + size) % size, encode(acc, c.call));
      acc = undefined;
      break;
    }
    if (rel + mask < size) acc = r.combine(acc, decode(await c.recv((rank + mask) % size)));
  }
  if (treeRoot !== root) {
    if (rank === treeRoot) await c.send(root, encode(acc, c.call));
    if (rank === root) acc = decode(await c.recv(treeRoot));
  }
  return rank === root ? acc : undefined;
}
