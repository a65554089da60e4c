// The data movement collectives: gather and scatter (linear at the root), allgather (ring),
// alltoall (pairwise exchange). Typed arrays come back as views of one buffer.
import { decode, ELEM_NONE, encode, packContiguous, type Packet } from '../../codec/index.js';
import { exchange, type Coll } from './coll.js';

/** Decode one packet per rank; when all are typed arrays of one kind, into one contiguous buffer. */
export function assemble(pkts: Packet[]): unknown[] {
  const elem = pkts[0]!.elem;
  if (elem !== ELEM_NONE && pkts.every((p) => p.elem === elem)) return packContiguous(elem, pkts.map((p) => p.bytes));
  return pkts.map(decode);
}

export async function gather(c: Coll, value: unknown, root: number): Promise<unknown[] | undefined> {
  const pkt = encode(value, c.call);
  if (c.rank !== root) {
    await c.send(root, pkt);
    return undefined;
  }
  const pkts = await Promise.all(Array.from({ length: c.size }, (_, i) => (i === root ? pkt : c.recv(i))));
  return assemble(pkts);
}

export async function allgather(c: Coll, value: unknown): Promise<unknown[]> {
  const { rank, size } = c;
  const pkts: Packet[] = new Array(size);
  pkts[rank] = encode(value, c.call);
  const right = (rank + 1) % size;
  const left = (rank - 1 + size) % size;
  for (let s = 0; s < size - 1; s++) {
    pkts[(rank - s - 1 + size) % size] = await exchange(c, right, pkts[(rank - s + size) % size]!, left);
  }
  return assemble(pkts);
}

/** Root side of scatter: packets already split (one per rank). */
export async function scatter(c: Coll, pkts: Packet[] | undefined, root: number): Promise<unknown> {
  if (c.rank !== root) return decode(await c.recv(root));
  const sends = pkts!.map((p, i) => (i === root ? undefined : c.send(i, p)));
  await Promise.all(sends);
  const own = pkts![root]!;
  return decode({ elem: own.elem, bytes: Buffer.from(own.bytes) }); // the root's part is a copy too
}

export async function alltoall(c: Coll, parts: readonly unknown[]): Promise<unknown[]> {
  const { rank, size } = c;
  const out: Packet[] = new Array(size);
  out[rank] = encode(parts[rank], c.call);
  for (let i = 1; i < size; i++) {
    const dst = (rank + i) % size;
    const src = (rank - i + size) % size;
    out[src] = await exchange(c, dst, encode(parts[dst], c.call), src);
  }
  return assemble(out);
}
