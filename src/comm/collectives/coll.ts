// What a collective algorithm sees: its communicator's size and rank and a private
// channel (the communicator's collective context, one tag per call) to every member.
import type { Packet } from '../../codec/index.js';

export interface Coll {
  /** the API call, for error messages */
  readonly call: string;
  readonly rank: number;
  readonly size: number;
  send(dest: number, pkt: Packet): Promise<void>;
  recv(src: number): Promise<Packet>;
}

/** Send to `dest` and receive from `src` at once (never deadlocks on rendezvous sends). */
export async function exchange(c: Coll, dest: number, pkt: Packet, src: number): Promise<Packet> {
  const [got] = await Promise.all([c.recv(src), c.send(dest, pkt)]);
  return got;
}
