// Comm: a communicator, the public API (README.md, "API at a glance"). Comm checks the
// caller's arguments, encodes values and names the call in every error; the transport below
// it is a CommBackend (src/comm/comm-backend.ts): WsBackend (backends/ws.ts: orchid's engine
// and JS collectives) or MpiBackend (backends/mpi.ts: libmpi through the native addon).
// Groups are group.ts, Cartesian grids cart.ts (a Comm subclass made through SPLIT_AS).
import { hostname as osHostname } from 'node:os';
import { decode, elemCode, encode, ELEM_NONE, type TypedArray } from '../codec/index.js';
import { OrchidError } from '../errors.js';
import type { CartComm } from './cart.js';
import type { CommBackend, RawMessage, ReduceCall } from './comm-backend.js';
import { checkCreated, createColor } from './create.js';
import { Group } from './group.js';
import { checkOperand, reducer, type Op, type Reducer } from './ops.js';
import { splitParts } from './scatter-parts.js';
import type { Message, Runtime, ScatterOptions, Status } from './comm-types.js';
import { intoBuffer } from './recv-into.js';
import { Request } from './request.js';
import { track } from './pending.js';
import { traceBackend } from './trace.js';
import { checkRank, checkRoot, checkTag } from './validate.js';
import { alltoallv, gatherv, scatterBlock, sliceResult, type VSpec } from './v-collectives.js';
import { ANY_SOURCE, ANY_TAG } from './wildcards.js';

export type { Message, Runtime, ScatterOptions, Status } from './comm-types.js';

/**
 * @internal A split whose members get `make(runtime, backend)` instead of a plain Comm: how
 * the communicator kinds of their own modules (cart.ts) are made.
 */
export const SPLIT_AS: unique symbol = Symbol('orchid.splitAs');

/** What a send that completed at once resolves to. */
const DONE: Promise<void> = Promise.resolve();

/**
 * The hot path of every receive: a message the transport had at once is shaped here and
 * handed over as one settled promise (no promise per layer); otherwise one `then`.
 */
function settle<R>(r: RawMessage | Promise<RawMessage>, shape: (m: RawMessage) => R): Promise<R> {
  if (r instanceof Promise) return r.then(shape);
  try {
    return Promise.resolve(shape(r));
  } catch (e) {
    return Promise.reject(e);
  }
}

export class Comm {
  readonly rank: number;
  readonly size: number;
  readonly hostname: string;
  readonly #rt: Runtime;
  readonly #be: CommBackend;
  #group?: Group;

  /** @internal communicators come from init(), split(), dup() and splitShared() */
  constructor(rt: Runtime, backend: CommBackend) {
    this.#rt = rt;
    this.#be = track(traceBackend(backend)); // what this rank waits for (--timeout / Ctrl-C report); calls timed for --trace / --profile
    this.rank = backend.rank;
    this.size = backend.size;
    this.hostname = backend.hostname;
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

  recv<T = unknown>(source: number = ANY_SOURCE, tag: number = ANY_TAG): Promise<T> {
    return this.#recv('recv', source, tag, (m) => this.#decode<T>('recv', m));
  }

  recvMessage<T = unknown>(source: number = ANY_SOURCE, tag: number = ANY_TAG): Promise<Message<T>> {
    return this.#recv('recvMessage', source, tag, (m) => this.#message<T>('recvMessage', m));
  }

  /**
   * Receive a typed-array message into `buffer` (MPI's `Recv(buf)`): `data` is
   * `buffer.subarray(0, n)` for the n elements received. The message must be of the
   * buffer's kind (else TypeError) and fit in it (else ERR_COUNT); either way it is consumed,
   * as MPI does. On the mpi transport a large payload lands straight in `buffer`: no
   * allocation per message.
   */
  recvInto<T extends TypedArray>(buffer: T, source: number = ANY_SOURCE, tag: number = ANY_TAG): Promise<Message<T>> {
    const call = 'recvInto';
    let src: number, t: number;
    try {
      if (elemCode(buffer) === ELEM_NONE) throw new TypeError(`${call}: the buffer must be a TypedArray or a Buffer (rank ${this.rank})`);
      [src, t] = this.#p2pArgs(call, source, tag);
    } catch (err) {
      return Promise.reject(err);
    }
    return settle(this.#be.recv(src, t, call, buffer), (m) => intoBuffer(call, this.rank, buffer, m));
  }

  /** Bad arguments throw here, synchronously. */
  irecv<T = unknown>(source: number = ANY_SOURCE, tag: number = ANY_TAG): Request<Message<T>> {
    const [src, t] = this.#p2pArgs('irecv', source, tag);
    return new Request(settle(this.#be.recv(src, t, 'irecv'), (m) => this.#message<T>('irecv', m)));
  }

  /** Wait for a matching message without receiving it. */
  async probe(source: number = ANY_SOURCE, tag: number = ANY_TAG): Promise<Status> {
    const [src, t] = this.#p2pArgs('probe', source, tag);
    return this.#be.probe(src, t, 'probe');
  }

  /** A matching message's status if one is waiting, else undefined. Never blocks. */
  iprobe(source: number = ANY_SOURCE, tag: number = ANY_TAG): Status | undefined {
    const [src, t] = this.#p2pArgs('iprobe', source, tag);
    return this.#be.iprobe(src, t);
  }

  /**
   * Send and receive at once. `null` for `dest` sends nothing and `null` for `source`
   * receives nothing (resolves undefined), as MPI_PROC_NULL: the edges of cart().shift().
   */
  async sendrecv<T = unknown>(value: unknown, dest: number | null, source: number | null = ANY_SOURCE, sendTag = 0, recvTag: number = ANY_TAG): Promise<T> {
    const r = source === null ? Promise.resolve(undefined as T) : this.#recv('sendrecv', source, recvTag, (m) => this.#decode<T>('sendrecv', m));
    const [, data] = await Promise.all([dest === null ? DONE : this.#send('sendrecv', value, dest, sendTag), r]);
    return data;
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
    return this.#be.send(pkt, d, t, call) ?? DONE;
  }

  /** Tag check plus the transport's own limit (MPI_TAG_UB for mpi). */
  #tag(call: string, tag: unknown, allowAny = false): number {
    const t = checkTag(call, this.rank, tag, allowAny);
    if (t > this.#be.tagUb)
      throw new OrchidError('ERR_TAG', `${call}: tag ${t} is above ${this.#be.tagUb}, the largest tag this MPI library carries (MPI_TAG_UB; called on rank ${this.rank})`);
    return t;
  }

  #p2pArgs(call: string, source: unknown, tag: unknown): [number, number] {
    this.#live(call);
    return [checkRank(call, this.rank, this.size, source, 'source', true), this.#tag(call, tag, true)];
  }

  /** Checks the arguments, receives, and shapes the message with `shape` (its errors reject). */
  #recv<R>(call: string, source: number, tag: number, shape: (m: RawMessage) => R): Promise<R> {
    let src: number, t: number;
    try {
      [src, t] = this.#p2pArgs(call, source, tag);
    } catch (err) {
      return Promise.reject(err);
    }
    return settle(this.#be.recv(src, t, call), shape);
  }

  #decode<T>(call: string, m: RawMessage): T {
    try {
      return decode(m.packet) as T;
    } catch (e) {
      throw new OrchidError('ERR_TRANSPORT', `${call}: rank ${this.rank} could not decode a message from rank ${m.source}: ${(e as Error).message}`);
    }
  }

  #message<T>(call: string, m: RawMessage): Message<T> {
    return { data: this.#decode<T>(call, m), source: m.source, tag: m.tag };
  }

  // ---- collectives ----

  /** A collective: arguments are checked inside `check` (a rejection, never a throw). */
  #coll<T>(call: string, body: (be: CommBackend) => Promise<T>): Promise<T> {
    try {
      this.#live(call);
      return body(this.#be);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  barrier(): Promise<void> {
    return this.#coll('barrier', (be) => be.barrier());
  }

  /** Every rank gets the root's value. */
  bcast<T = unknown>(value?: T, root = 0): Promise<T> {
    return this.#coll('bcast', async (be) => {
      const v = await be.bcast(root, () => encode(value, 'bcast'), () => checkRoot('bcast', this.rank, this.size, root));
      return (this.rank === root ? value : v) as T;
    });
  }

  /** The root passes `size` values (or one typed array split evenly or by `counts`); each rank gets its part. */
  scatter<T = unknown>(parts?: readonly unknown[] | TypedArray, root = 0, options: ScatterOptions = {}): Promise<T> {
    return this.#coll('scatter', async (be) =>
      (await be.scatter(root, () => splitParts(parts, options.counts, this.size, this.rank), () => checkRoot('scatter', this.rank, this.size, root))) as T,
    );
  }

  /** An Array of every rank's value at the root, undefined elsewhere. */
  gather<T = unknown>(value: T, root = 0): Promise<T[] | undefined> {
    return this.#coll('gather', async (be) => (await be.gather(value, root, false, 'gather', () => checkRoot('gather', this.rank, this.size, root))) as T[] | undefined);
  }

  allgather<T = unknown>(value: T): Promise<T[]> {
    return this.#coll('allgather', async (be) => (await be.gather(value, 0, true, 'allgather', () => {})) as T[]);
  }

  /** `parts[i]` goes to rank i; returns what each rank sent here. */
  alltoall<T = unknown>(parts: readonly T[]): Promise<T[]> {
    return this.#coll('alltoall', async (be) =>
      (await be.alltoall(parts, () => {
        if (!Array.isArray(parts) || parts.length !== this.size)
          throw new OrchidError('ERR_COUNT', `alltoall: parts must be an Array of ${this.size} values, got ${Array.isArray(parts) ? parts.length : typeof parts} (called on rank ${this.rank})`);
      })) as T[],
    );
  }

  /** `call`: the API call, for errors; `extra`: more local checks, run inside the collective. */
  #reduce(kind: ReduceCall, value: unknown, op: Op, root: number, call: string = kind, extra?: () => void): Promise<unknown> {
    return this.#coll(call, (be) => {
      // a bad op fails inside the collective, like every other check, so every member hears of it
      let r: Reducer;
      let bad: unknown;
      try {
        r = reducer(op, call);
      } catch (e) {
        bad = e;
        r = { name: 'invalid', builtin: false, commute: false, combine: () => { throw bad; }, combineInto: () => { throw bad; } };
      }
      return be.reduce(kind, value, r, root, () => {
        if (bad) throw bad;
        if (kind === 'reduce') checkRoot('reduce', this.rank, this.size, root);
        checkOperand(r, value, call);
        extra?.();
      }, call);
    });
  }

  reduce<T = unknown>(value: T, op: Op<T> = 'sum', root = 0): Promise<T | undefined> {
    return this.#reduce('reduce', value, op, root) as Promise<T | undefined>;
  }

  allreduce<T = unknown>(value: T, op: Op<T> = 'sum'): Promise<T> {
    return this.#reduce('allreduce', value, op, 0) as Promise<T>;
  }

  /** Inclusive prefix reduction: rank i gets value(0) op … op value(i). */
  scan<T = unknown>(value: T, op: Op<T> = 'sum'): Promise<T> {
    return this.#reduce('scan', value, op, 0) as Promise<T>;
  }

  /** Exclusive prefix reduction: rank i gets value(0) op … op value(i-1); undefined on rank 0. */
  exscan<T = unknown>(value: T, op: Op<T> = 'sum'): Promise<T | undefined> {
    return this.#reduce('exscan', value, op, 0) as Promise<T | undefined>;
  }

  /**
   * Rank i gets block i of the reduction: blocks of `counts[i]` elements (counts omitted: `size`
   * equal blocks). The operand is a TypedArray, an Array, or minloc/maxloc's { values, indices }.
   */
  reduceScatter<T = unknown>(value: T, op: Op<T> = 'sum', counts?: ArrayLike<number>): Promise<T> {
    return this.#reduceScatter('reduceScatter', value, op, counts);
  }

  /** Every rank gives size × k elements; rank i gets elements i·k … i·k+k-1 of the reduction. */
  reduceScatterBlock<T = unknown>(value: T, op: Op<T> = 'sum'): Promise<T> {
    return this.#reduceScatter('reduceScatterBlock', value, op, undefined);
  }

  async #reduceScatter(call: string, value: unknown, op: Op, counts: ArrayLike<number> | undefined): Promise<never> {
    let block: [number, number] = [0, 0];
    const all = await this.#reduce('allreduce', value, op, 0, call, () => {
      block = scatterBlock(call, this.rank, this.size, value, counts);
    });
    return sliceResult(call, this.rank, all, block) as never;
  }

  /** Typed arrays with counts and displacements into one buffer at the root (MPI_Gatherv); `spec` is read at the root. */
  gatherv<T extends TypedArray>(buffer: T, spec?: VSpec, root = 0): Promise<T | undefined> {
    return this.#coll('gatherv', (be) => gatherv(be, buffer, spec, root, false) as Promise<T | undefined>);
  }

  /** Typed arrays with counts and displacements into one buffer on every rank (MPI_Allgatherv). */
  allgatherv<T extends TypedArray>(buffer: T, spec: VSpec): Promise<T> {
    return this.#coll('allgatherv', (be) => gatherv(be, buffer, spec, 0, true) as Promise<T>);
  }

  /** Block i of `buffer` (by `send`) goes to rank i; what each rank sent lands in one buffer by `recv` (MPI_Alltoallv). */
  alltoallv<T extends TypedArray>(buffer: T, send: VSpec, recv: VSpec): Promise<T> {
    return this.#coll('alltoallv', (be) => alltoallv(be, buffer, send, recv) as Promise<T>);
  }

  // ---- nonblocking collectives ----
  // The blocking call, started now and handed back as a Request (wait, test, waitAll …). A
  // collective takes its place in the communicator's order when it is called (ws: its
  // sequence tag; mpi: its turn in the backend's queue), so members must start them in the
  // same order, as MPI says; any number may be outstanding. They never throw: a bad argument
  // fails the request on every member, as the blocking call fails on every member.

  ibarrier(): Request<void> {
    return new Request(this.barrier());
  }

  ibcast<T = unknown>(value?: T, root = 0): Request<T> {
    return new Request(this.bcast(value, root));
  }

  ireduce<T = unknown>(value: T, op: Op<T> = 'sum', root = 0): Request<T | undefined> {
    return new Request(this.reduce(value, op, root));
  }

  iallreduce<T = unknown>(value: T, op: Op<T> = 'sum'): Request<T> {
    return new Request(this.allreduce(value, op));
  }

  igather<T = unknown>(value: T, root = 0): Request<T[] | undefined> {
    return new Request(this.gather(value, root));
  }

  iallgather<T = unknown>(value: T): Request<T[]> {
    return new Request(this.allgather(value));
  }

  ialltoall<T = unknown>(parts: readonly T[]): Request<T[]> {
    return new Request(this.alltoall(parts));
  }

  // ---- communicators ----

  /**
   * Members with the same color form a communicator, ordered by key then rank; any negative
   * color gives null (MPI_UNDEFINED). Color and key are any integers (no 32-bit limit, the
   * same on every transport).
   */
  split(color: number, key: number = this.rank): Promise<Comm | null> {
    if (typeof color !== 'number' || !Number.isInteger(color))
      return Promise.reject(new TypeError(`split: color must be an integer, got ${String(color)} (called on rank ${this.rank})`));
    if (typeof key !== 'number' || !Number.isInteger(key))
      return Promise.reject(new TypeError(`split: key must be an integer, got ${String(key)} (called on rank ${this.rank})`));
    return this.#split('split', color, key, false);
  }

  dup(): Promise<Comm> {
    return this.#split('dup', 0, this.rank, false) as Promise<Comm>;
  }

  /** One communicator per host: the ranks that share this rank's host. */
  async splitShared(): Promise<Comm> {
    return (await this.#split('splitShared', 0, this.rank, true)) as Comm;
  }

  async #split<C = Comm>(call: string, color: number, key: number, shared: boolean, make?: (rt: Runtime, be: CommBackend) => C): Promise<C | Comm | null> {
    const be = await this.#coll(call, (b) => b.split(color, key, shared, call));
    return be && (make ? make(this.#rt, be) : new Comm(this.#rt, be));
  }

  /** @internal see SPLIT_AS */
  [SPLIT_AS]<C>(call: string, color: number, key: number, make: (rt: Runtime, be: CommBackend) => C): Promise<C | null> {
    return this.#split(call, color, key, false, make) as Promise<C | null>;
  }

  /**
   * A Cartesian grid of `dims` over the first product(dims) ranks, row-major (MPI_Cart_create):
   * collective; the ranks beyond the grid get null. `periods` (default all false): which
   * dimensions wrap around. `reorder` is accepted; ranks keep their order.
   */
  async cart(dims: readonly number[], periods?: readonly boolean[], reorder = false): Promise<CartComm | null> {
    const { cartCreate } = await import('./cart.js');
    return cartCreate(this, dims, periods, reorder);
  }

  // ---- groups ----

  /** The group of this communicator's ranks (MPI_Comm_group): group rank i is rank i here. */
  get group(): Group {
    const be = this.#be;
    return (this.#group ??= new Group(be.members, be.members[be.rank]!));
  }

  /**
   * A communicator of `group`'s members, ranked in the group's order (MPI_Comm_create):
   * collective over this communicator; non-members get null. The group's members must be
   * members of this communicator (else ERR_RANK); members that pass different groups get
   * ERR_COLLECTIVE (disjoint groups, each passed by all of its members, are fine).
   */
  async create(group: Group): Promise<Comm | null> {
    const { bad, color, key } = createColor(group, this.#be.members, this.rank);
    // a rank with a bad argument still takes part, as a non-member, so no other rank hangs
    const made = (await this.#split('create', bad ? -1 : color, key, false)) as Comm | null;
    if (bad) throw bad;
    if (made) checkCreated(made.group.ranks, group, this.rank);
    return made;
  }

  // ---- this process ----

  /** The name of the host this process runs on, as MPI_Get_processor_name (the hostname). */
  get processorName(): string {
    return osHostname();
  }

  // ---- the job ----

  /**
   * End the whole job with `code` (every rank on every host), like MPI_Abort: it does not
   * return. It throws ERR_ABORTED so no code after it runs; the process exits with `code`
   * whether or not that error is caught.
   */
  abort(code = 1): never {
    throw this.#rt.abort(code, `abort(${code}) called on rank ${this.rank}`);
  }

  /** Leave the job: waits for every rank to get here, then closes connections. */
  finalize(): Promise<void> {
    return this.#rt.finalize();
  }

  #live(call: string): void {
    const ended = this.#rt.ended;
    if (ended) throw new OrchidError(ended.code, `${call}: ${ended.message}`);
  }
}
