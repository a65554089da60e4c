// The layer below Comm: what a communicator asks of its transport once the arguments are
// checked. The ws transport is served by Comm's own matching engine and JS collective
// algorithms (src/transport/engine.ts, src/comm/collectives/); the mpi transport by
// src/transport/mpi/backend.ts, which hands matching and collectives to libmpi.
import type { Packet } from '../codec/index.js';
import type { Reducer } from './ops.js';

export interface RawMessage {
  packet: Packet;
  source: number;
  tag: number;
}

export interface RawStatus {
  source: number;
  tag: number;
  bytes: number;
}

/** A communicator's transport. Ranks are ranks of this communicator. Every `prepare`
 *  callback runs the caller's local checks and encoding; when it throws on any rank, the
 *  collective still completes its first step everywhere and fails on every rank. */
export interface CommBackend {
  readonly rank: number;
  readonly size: number;
  readonly hostname: string;
  /** the largest tag this transport carries */
  readonly tagUb: number;
  send(pkt: Packet, dest: number, tag: number, call: string): Promise<void>;
  recv(source: number, tag: number, call: string): Promise<RawMessage>;
  probe(source: number, tag: number, call: string): Promise<RawStatus>;
  iprobe(source: number, tag: number): RawStatus | undefined;

  barrier(): Promise<void>;
  bcast(root: number, prepare: () => Packet): Promise<unknown>;
  scatter(root: number, prepare: () => Packet[]): Promise<unknown>;
  gather(root: number, prepare: () => Packet, all: boolean, call: string): Promise<unknown[] | undefined>;
  alltoall(prepare: () => Packet[]): Promise<unknown[]>;
  /** kind: allreduce | reduce | scan | exscan */
  reduce(kind: 'allreduce' | 'reduce' | 'scan' | 'exscan', value: unknown, r: Reducer, root: number, check: () => void): Promise<unknown>;
  split(color: number, key: number, shared: boolean, call: string): Promise<CommBackend | null>;
  abort(code: number): void;
  finalize(): Promise<void>;
}
