// The layer below Comm: what a communicator asks of its transport once the caller's
// arguments are checked. Two implementations:
//   ws:  src/comm/backends/ws.ts — orchid's own matching engine (src/transport/engine.ts)
//        and the JS collective algorithms (src/comm/collectives/)
//   mpi: src/comm/backends/mpi.ts — libmpi's matching and collectives (native addon)
import type { Packet, TypedArray } from '../codec/index.js';
import type { Reducer } from './ops.js';

export interface RawMessage {
  packet: Packet;
  source: number;
  tag: number;
  /** set when the transport wrote the payload (this many bytes) straight into recv's `into` */
  written?: number;
}

export interface RawStatus {
  source: number;
  tag: number;
  bytes: number;
}

export type ReduceCall = 'allreduce' | 'reduce' | 'scan' | 'exscan';

/**
 * A communicator's transport. Ranks are ranks of this communicator. The `prepare` and
 * `check` callbacks run the caller's local checks and encoding inside the collective: when
 * one throws on any rank, every member fails the call (with that error, or one naming the
 * rank it came from) instead of hanging.
 */
export interface CommBackend {
  readonly rank: number;
  readonly size: number;
  readonly hostname: string;
  /** the largest tag this transport carries */
  readonly tagUb: number;
  /** the world rank of each member, in rank order (what comm.group is made of) */
  readonly members: readonly number[];

  /**
   * undefined when the send completed at once (the packet's memory may be reused now), else a
   * promise that resolves then. The fast path costs no promise and no pending-call record.
   */
  send(pkt: Packet, dest: number, tag: number, call: string): Promise<void> | undefined;
  /**
   * The message itself when it could be taken at once (the fast path), else a promise of it.
   * `into`: a typed array the payload may be written to directly when it fits (recvInto).
   */
  recv(source: number, tag: number, call: string, into?: TypedArray): RawMessage | Promise<RawMessage>;
  probe(source: number, tag: number, call: string): Promise<RawStatus>;
  iprobe(source: number, tag: number): RawStatus | undefined;

  /** `call`: the API call it serves, for errors (finalize synchronises with a barrier) */
  barrier(call?: string): Promise<void>;
  /** the root's value decoded on the others; undefined at the root */
  bcast(root: number, prepare: () => Packet, check: () => void): Promise<unknown>;
  scatter(root: number, prepare: () => Packet[], check: () => void): Promise<unknown>;
  /** every rank's value at the root (all: everywhere), undefined elsewhere */
  gather(value: unknown, root: number, all: boolean, call: string, check: () => void): Promise<unknown[] | undefined>;
  /** `call`: the API call (alltoallv runs alltoall), for errors and its signature */
  alltoall(parts: readonly unknown[], check: () => void, call?: string): Promise<unknown[]>;
  /** `call`: the API call (reduceScatter runs an allreduce), for errors and its signature */
  reduce(kind: ReduceCall, value: unknown, r: Reducer, root: number, check: () => void, call?: string): Promise<unknown>;
  /** shared: one communicator per host (color and key are ignored) */
  split(color: number, key: number, shared: boolean, call: string): Promise<CommBackend | null>;
}

/** A backend's own fields, for a wrapper that passes its calls through (pending.ts, trace.ts). */
export function backendFields(be: CommBackend): Pick<CommBackend, 'rank' | 'size' | 'hostname' | 'tagUb' | 'members'> {
  return { rank: be.rank, size: be.size, hostname: be.hostname, tagUb: be.tagUb, members: be.members };
}
