// Comm: a communicator, the public API of DESIGN.md. A communicator is a group of world
// ranks and a context id; point-to-point traffic uses the context, collective traffic
// context+1 with one tag per call, so the two never match each other.
import { decode, encode, isTypedArray, type Packet, type TypedArray } from '../codec/index.js';
import { OrchidError } from '../errors.js';
import type { Engine } from '../transport/engine.js';
import type { CommBackend } from './backend.js';
import { ANY_SOURCE, ANY_TAG, type Arrival } from '../transport/matching.js';
import { allreduce } from './collectives/allreduce.js';
import type { Coll } from './collectives/coll.js';
import { allgather, alltoall, barrier, gather, scatter } from './collectives/exchange.js';
import { scan } from './collectives/scan.js';
import { bcastPacket, reduceTree } from './collectives/tree.js';
import { checkOperand, reducer, type Op } from './ops.js';
import { Request } from './request.js';
import { checkRank, checkRoot, checkTag } from './validate.js';

export interface Message<T = unknown> {
  data: T;
  source: number;
  tag: number;
}

export interface Status {
  source: number;
  tag: number;
  bytes: number;
}

/** State shared by all communicators of one process. */
export interface Runtime {
  readonly engine: Engine;
  /** host name of each world rank */
  readonly hosts: readonly string[];
  /** the next free context id on this process (even; +1 is the collective context) */
  nextCtx: number;
  /** the world communicator (finalize synchronises on it) */
  world?: Comm;
  /** set once finalize() or abort() ran: every call then fails with this */
  ended?: OrchidError;
  abort(code: number, message: string): void;
  finalize(): Promise<void>;
}

export interface ScatterOptions {
  /** elements per rank when the root passes one typed array */
  counts?: readonly number[];
}

export class Comm {
  readonly rank: number;
  readonly size: number;
  readonly hostname: string;
  readonly #rt: Runtime;
  readonly #ctx: number;
  /** world rank of each member */
  readonly #group: readonly number[];
  /** the transport below this communicator when it is not the ws engine (mpi) */
  readonly #be: CommBackend | undefined;
  #collSeq = 0;

  /** @internal communicators come from init(), split(), dup() and splitShared() */
  constructor(rt: Runtime, ctx: number, group: readonly number[], rank: number, backend?: CommBackend) {
    this.#rt = rt;
    this.#ctx = ctx;
    this.#be = backend;
    if (backend) group = Array.from({ length: backend.size }, (_, i) => i);
    this.#group = group;
    this.rank = backend ? backend.rank : rank;
    this.size = group.length;
    this.hostname = backend ? backend.hostname : rt.hosts[group[rank]!]!;
  }

  /** Tag check plus the transport's own limit (MPI_TAG_UB for mpi). */
  #tag(call: string, tag: unknown, allowAny = false): number {
    const t = checkTag(call, this.rank, tag, allowAny);
    const be = this.#be;
    if (be && t > be.tagUb)
      throw new OrchidError('ERR_TAG', `${call}: tag ${t} is above ${be.tagUb}, the largest tag this MPI library carries (MPI_TAG_UB; called on rank ${this.rank})`);
    return t;
  }

  // ---- point to point ----

  /** Send `value` to `dest`; resolves when `value` may be reused. */
  send(value: unknown, dest: number, tag = 0): Promise<void> {
    return this.#send('send', value, dest, tag);
  }

  /** Bad arguments and values that cannot be encoded throw here, synchronously. */
  isend(value: unknown, dest: number, tag = 0): Request<void> {
    return new Request(this.#startSend('isend', value, dest, tag));
  }

  async recv<T = unknown>(source: number = ANY_SOURCE, tag: number = ANY_TAG): Promise<T> {
    return (await this.#recv<T>('recv', source, tag)).data;
  }

  recvMessage<T = unknown>(source: number = ANY_SOURCE, tag: number = ANY_TAG): Promise<Message<T>> {
    return this.#recv<T>('recvMessage', source, tag);
  }

  /** Bad arguments throw here, synchronously. */
  irecv<T = unknown>(source: number = ANY_SOURCE, tag: number = ANY_TAG): Request<Message<T>> {
    const src = checkRank('irecv', this.rank, this.size, source, 'source', true);
    const t = this.#tag('irecv', tag, true);
    this.#live('irecv');
    return new Request(this.#recv<T>('irecv', src, t));
  }

  /** Wait for a matching message without receiving it. */
  async probe(source: number = ANY_SOURCE, tag: number = ANY_TAG): Promise<Status> {
    if (this.#be) {
      const be = this.#be;
      const [src, t] = this.#p2pArgs('probe', source, tag);
      return be.probe(src, t, 'probe');
    }
    const a = await this.#post('probe', source, tag, true, this.#ctx);
    return { source: a.src, tag: a.tag, bytes: a.bytes };
  }

  /** A matching message's status if one is waiting, else undefined. Never blocks. */
  iprobe(source: number = ANY_SOURCE, tag: number = ANY_TAG): Status | undefined {
    this.#live('iprobe');
    const src = checkRank('iprobe', this.rank, this.size, source, 'source', true);
    const t = this.#tag('iprobe', tag, true);
    if (this.#be) return this.#be.iprobe(src, t);
    const a = this.#rt.engine.matcher.peek(this.#ctx, src, t);
    return a && { source: a.src, tag: a.tag, bytes: a.bytes };
  }

  async sendrecv<T = unknown>(value: unknown, dest: number, source: number = ANY_SOURCE, sendTag = 0, recvTag: number = ANY_TAG): Promise<T> {
    const r = this.#recv<T>('sendrecv', source, recvTag);
    const [, m] = await Promise.all([this.#send('sendrecv', value, dest, sendTag), r]);
    return m.data;
  }

  #send(call: string, value: unknown, dest: number, tag: number): Promise<void> {
    try {
      return this.#startSend(call, value, dest, tag);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Checks and encodes synchronously (throws), then sends. */
  #startSend(call: string, value: unknown, dest: number, tag: number): Promise<void> {
    this.#live(call);
    const d = checkRank(call, this.rank, this.size, dest, 'destination');
    const t = this.#tag(call, tag);
    const pkt = encode(value, call);
    if (this.#be) return this.#be.send(pkt, d, t, call);
    const e = this.#rt.engine;
    return e.hold(e.send(this.#ctx, this.rank, this.#group[d]!, t, pkt, call));
  }

  #p2pArgs(call: string, source: number, tag: number): [number, number] {
    this.#live(call);
    return [checkRank(call, this.rank, this.size, source, 'source', true), this.#tag(call, tag, true)];
  }

  async #recv<T>(call: string, source: number, tag: number): Promise<Message<T>> {
    if (this.#be) {
      const [src, t] = this.#p2pArgs(call, source, tag);
      const m = await this.#be.recv(src, t, call);
      return { data: this.#decode(m.packet, m.source, call) as T, source: m.source, tag: m.tag };
    }
    const a = await this.#post(call, source, tag, false, this.#ctx);
    return { data: (await this.#payload(a, call)) as T, source: a.src, tag: a.tag };
  }

  async #payload(a: Arrival, call: string): Promise<unknown> {
    const pkt = a.packet ?? (await this.#rt.engine.hold(a.fetch!()));
    return this.#decode(pkt, a.src, call);
  }

  #decode(pkt: Packet, src: number, call: string): unknown {
    try {
      return decode(pkt);
    } catch (e) {
      throw new OrchidError('ERR_TRANSPORT', `${call}: rank ${this.rank} could not decode a message from rank ${src}: ${(e as Error).message}`);
    }
  }

  #post(call: string, source: number, tag: number, peek: boolean, ctx: number): Promise<Arrival> {
    try {
      this.#live(call);
      const src = checkRank(call, this.rank, this.size, source, 'source', true);
      const t = checkTag(call, this.rank, tag, true);
      return this.#postRaw(call, src, t, peek, ctx);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #postRaw(call: string, src: number, tag: number, peek: boolean, ctx: number): Promise<Arrival> {
    const e = this.#rt.engine;
    const me = this.#group[this.rank]!;
    const from = src === ANY_SOURCE ? this.#group.filter((w) => w !== me) : [this.#group[src]!];
    if (from.length > 0 && from.every((w) => e.isLost(w)))
      return Promise.reject(new OrchidError('ERR_PEER_LOST', `${call}: rank ${this.rank} cannot hear from ${e.describePeer(from[0]!)}: it is gone`));
    return e.hold(new Promise<Arrival>((resolve, reject) => e.post({ ctx, src, tag, peek, call, from, resolve, reject })));
  }

  // ---- collectives ----

  /** Run one collective call on this communicator's collective context with its own tag.
   *  A failure here is reported to the other members so none of them hangs. */
  async #collective<T>(call: string, body: (c: Coll) => Promise<T>): Promise<T> {
    this.#live(call);
    const tag = this.#collSeq;
    this.#collSeq = (this.#collSeq + 1) & 0x7fffffff;
    const e = this.#rt.engine;
    const ctx = this.#ctx + 1;
    const c: Coll = {
      call,
      rank: this.rank,
      size: this.size,
      send: (dest, pkt) => e.send(ctx, this.rank, this.#group[dest]!, tag, pkt, call),
      recv: async (src) => {
        const a = await this.#postRaw(call, src, tag, false, ctx);
        return a.packet ?? (await e.hold(a.fetch!()));
      },
    };
    try {
      return await e.hold(body(c));
    } catch (err) {
      if (!e.isRemoteError(err)) e.collError(ctx, tag, this.#group, err as Error);
      throw err;
    }
  }

  barrier(): Promise<void> {
    if (this.#be) return this.#mpi('barrier', (be) => be.barrier());
    return this.#collective('barrier', barrier);
  }

  /** Every rank gets the root's value. */
  bcast<T = unknown>(value?: T, root = 0): Promise<T> {
    if (this.#be)
      return this.#mpi('bcast', async (be) => {
        checkRoot('bcast', this.rank, this.size, root);
        const v = await be.bcast(root, () => encode(value, 'bcast'));
        return (this.rank === root ? value : v) as T;
      });
    return this.#collective('bcast', async (c) => {
      checkRoot('bcast', this.rank, this.size, root);
      const pkt = await bcastPacket(c, c.rank === root ? encode(value, 'bcast') : undefined, root);
      return (c.rank === root ? value : decode(pkt)) as T;
    });
  }

  /** The root passes `size` values (or one typed array split evenly or by `counts`); each rank gets its part. */
  scatter<T = unknown>(parts?: readonly unknown[] | TypedArray, root = 0, options: ScatterOptions = {}): Promise<T> {
    if (this.#be)
      return this.#mpi('scatter', async (be) => {
        checkRoot('scatter', this.rank, this.size, root);
        return (await be.scatter(root, () => this.#splitParts(parts, options.counts))) as T;
      });
    return this.#collective('scatter', async (c) => {
      checkRoot('scatter', this.rank, this.size, root);
      const pkts = c.rank === root ? this.#splitParts(parts, options.counts) : undefined;
      return (await scatter(c, pkts, root)) as T;
    });
  }

  #splitParts(parts: unknown, counts: readonly number[] | undefined): Packet[] {
    const n = this.size;
    if (isTypedArray(parts)) {
      const len = parts.length;
      let cs: readonly number[];
      if (counts) {
        if (counts.length !== n || counts.some((x) => !Number.isInteger(x) || x < 0) || counts.reduce((a, b) => a + b, 0) !== len)
          throw new OrchidError('ERR_COUNT', `scatter: counts [${counts.join(', ')}] must be ${n} non-negative integers summing to ${len} (called on rank ${this.rank})`);
        cs = counts;
      } else {
        if (len % n !== 0)
          throw new OrchidError('ERR_COUNT', `scatter: a typed array of ${len} elements cannot be split evenly over ${n} ranks; pass { counts } (called on rank ${this.rank})`);
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
      throw new OrchidError('ERR_COUNT', `scatter: the root must pass an Array of ${n} values or a typed array, got ${Array.isArray(parts) ? `${parts.length} values` : typeof parts} (called on rank ${this.rank})`);
    return parts.map((p) => encode(p, 'scatter'));
  }

  /** An Array of every rank's value at the root, undefined elsewhere. */
  gather<T = unknown>(value: T, root = 0): Promise<T[] | undefined> {
    if (this.#be)
      return this.#mpi('gather', async (be) => {
        checkRoot('gather', this.rank, this.size, root);
        return (await be.gather(root, () => encode(value, 'gather'), false, 'gather')) as T[] | undefined;
      });
    return this.#collective('gather', async (c) => {
      checkRoot('gather', this.rank, this.size, root);
      return (await gather(c, value, root)) as T[] | undefined;
    });
  }

  allgather<T = unknown>(value: T): Promise<T[]> {
    if (this.#be) return this.#mpi('allgather', async (be) => (await be.gather(0, () => encode(value, 'allgather'), true, 'allgather')) as T[]);
    return this.#collective('allgather', async (c) => (await allgather(c, value)) as T[]);
  }

  /** `parts[i]` goes to rank i; returns what each rank sent here. */
  alltoall<T = unknown>(parts: readonly T[]): Promise<T[]> {
    if (this.#be)
      return this.#mpi('alltoall', async (be) =>
        (await be.alltoall(() => {
          if (!Array.isArray(parts) || parts.length !== this.size)
            throw new OrchidError('ERR_COUNT', `alltoall: parts must be an Array of ${this.size} values, got ${Array.isArray(parts) ? parts.length : typeof parts} (called on rank ${this.rank})`);
          return parts.map((p) => encode(p, 'alltoall'));
        })) as T[],
      );
    return this.#collective('alltoall', async (c) => {
      if (!Array.isArray(parts) || parts.length !== this.size)
        throw new OrchidError('ERR_COUNT', `alltoall: parts must be an Array of ${this.size} values, got ${Array.isArray(parts) ? parts.length : typeof parts} (called on rank ${this.rank})`);
      return (await alltoall(c, parts)) as T[];
    });
  }

  reduce<T = unknown>(value: T, op: Op = 'sum', root = 0): Promise<T | undefined> {
    if (this.#be)
      return this.#mpi('reduce', async (be) => {
        checkRoot('reduce', this.rank, this.size, root);
        const r = reducer(op, 'reduce');
        return (await be.reduce('reduce', value, r, root, () => checkOperand(r, value, 'reduce'))) as T;
      });
    return this.#collective('reduce', async (c) => {
      checkRoot('reduce', this.rank, this.size, root);
      const r = reducer(op, 'reduce');
      checkOperand(r, value, 'reduce');
      return (await reduceTree(c, value, r, root)) as T | undefined;
    });
  }

  allreduce<T = unknown>(value: T, op: Op = 'sum'): Promise<T> {
    if (this.#be)
      return this.#mpi('allreduce', async (be) => {
        const r = reducer(op, 'allreduce');
        return (await be.reduce('allreduce', value, r, 0, () => checkOperand(r, value, 'allreduce'))) as T;
      });
    return this.#collective('allreduce', async (c) => {
      const r = reducer(op, 'allreduce');
      checkOperand(r, value, 'allreduce');
      return (await allreduce(c, value, r)) as T;
    });
  }

  /** Inclusive prefix reduction: rank i gets value(0) op … op value(i). */
  scan<T = unknown>(value: T, op: Op = 'sum'): Promise<T> {
    if (this.#be)
      return this.#mpi('scan', async (be) => {
        const r = reducer(op, 'scan');
        return (await be.reduce('scan', value, r, 0, () => checkOperand(r, value, 'scan'))) as T;
      });
    return this.#collective('scan', async (c) => {
      const r = reducer(op, 'scan');
      checkOperand(r, value, 'scan');
      return (await scan(c, value, r, false)) as T;
    });
  }

  /** Exclusive prefix reduction: rank i gets value(0) op … op value(i-1); undefined on rank 0. */
  exscan<T = unknown>(value: T, op: Op = 'sum'): Promise<T | undefined> {
    if (this.#be)
      return this.#mpi('exscan', async (be) => {
        const r = reducer(op, 'exscan');
        return (await be.reduce('exscan', value, r, 0, () => checkOperand(r, value, 'exscan'))) as T;
      });
    return this.#collective('exscan', async (c) => {
      const r = reducer(op, 'exscan');
      checkOperand(r, value, 'exscan');
      return (await scan(c, value, r, true)) as T | undefined;
    });
  }

  // ---- communicators ----

  /** Members with the same color form a communicator, ordered by key then rank; color < 0 → null. */
  split(color: number, key: number = this.rank): Promise<Comm | null> {
    if (typeof color !== 'number' || !Number.isInteger(color))
      return Promise.reject(new TypeError(`split: color must be an integer, got ${String(color)} (called on rank ${this.rank})`));
    if (typeof key !== 'number' || !Number.isInteger(key))
      return Promise.reject(new TypeError(`split: key must be an integer, got ${String(key)} (called on rank ${this.rank})`));
    return this.#split('split', color, key);
  }

  dup(): Promise<Comm> {
    return this.#split('dup', 0, this.rank) as Promise<Comm>;
  }

  /** One communicator per host: the ranks that share this rank's host. */
  async splitShared(): Promise<Comm> {
    if (this.#be) return (await this.#mpiSplit('splitShared', 0, this.rank, true)) as Comm;
    const hosts = await this.#collective('splitShared', async (c) => (await allgather(c, this.hostname)) as string[]);
    return (await this.#split('splitShared', hosts.indexOf(this.hostname), this.rank)) as Comm;
  }

  async #mpiSplit(call: string, color: number, key: number, shared: boolean): Promise<Comm | null> {
    const be = await this.#mpi(call, (b) => b.split(color, key, shared, call));
    return be && new Comm(this.#rt, 0, [], 0, be);
  }

  async #split(call: string, color: number, key: number): Promise<Comm | null> {
    if (this.#be) return this.#mpiSplit(call, color, key, false);
    const rt = this.#rt;
    // One allgather agrees on the members and on a context id free on all of them.
    const all = await this.#collective(call, async (c) => (await allgather(c, [color, key, rt.nextCtx])) as [number, number, number][]);
    const ctx = Math.max(...all.map((x) => x[2]));
    rt.nextCtx = ctx + 2;
    if (color < 0) return null;
    const members = all
      .map(([col, k], i) => ({ col, k, i }))
      .filter((m) => m.col === color)
      .sort((a, b) => a.k - b.k || a.i - b.i);
    const group = members.map((m) => this.#group[m.i]!);
    return new Comm(rt, ctx, group, members.findIndex((m) => m.i === this.rank));
  }

  /** A collective on the mpi backend: arguments are checked inside (a rejection, never a throw). */
  async #mpi<T>(call: string, body: (be: CommBackend) => Promise<T>): Promise<T> {
    this.#live(call);
    return body(this.#be!);
  }

  // ---- the job ----

  /** End the whole job with `code` (every rank on every host). */
  abort(code = 1): void {
    this.#rt.abort(code, `abort(${code}) called on rank ${this.rank}`);
  }

  /** Leave the job: waits for every rank to get here, then closes connections. */
  finalize(): Promise<void> {
    return this.#rt.finalize();
  }

  #live(call: string): void {
    const ended = this.#rt.ended;
    if (ended) throw new OrchidError(ended.code, `${call}: ${ended.message}`);
  }

  /** @internal world ranks of the members (used by init and tests) */
  get worldRanks(): readonly number[] {
    return this.#group;
  }
}
