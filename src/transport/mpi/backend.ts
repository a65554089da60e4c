// The mpi transport: a CommBackend over the native addon. libmpi does the matching
// (MPI_Improbe/MPI_Imrecv for receives of unknown size) and the collectives (MPI_Ibcast,
// Iallreduce, Ireduce, Iscan, Iexscan, Igatherv, Iscatterv, Iallgatherv, Ialltoallv,
// Comm_split, Comm_split_type). Values travel as msgpackr bytes: sizes first, then the
// v-variant. Typed arrays go to MPI by pointer and stay referenced here until MPI is done.
import { hostname as osHostname } from 'node:os';
import { ELEM, ELEMENT_KINDS, MPI_BYTES, OP, REDUCE_OPS, SMALL_REDUCE, SR, SR_BLOCK } from '../../codec/abi.js';
import { decode, elemCode, elemCtor, encode, ELEM_BUFFER, ELEM_NONE, type Packet, type TypedArray } from '../../codec/index.js';
import type { CommBackend, RawMessage, RawStatus, ReduceKind } from '../../comm/backend.js';
import type { Reducer } from '../../comm/ops.js';
import { OrchidError, type ErrorCode } from '../../errors.js';
import type { Addon, AddonCollectives, AddonInfo } from './addon.js';

const I32 = ELEM.Int32Array;
const F64 = ELEM.Float64Array;
const BYTE = MPI_BYTES;
const OPS: readonly string[] = REDUCE_OPS.map((o) => o.name);
/** ops MPI applies to floating types (and to a number, as a double) */
const ON_FLOATS = new Set(REDUCE_OPS.flatMap((o, code) => (o.family === 'arithmetic' ? [code] : [])));
/** element kinds MPI reduces natively (Uint8ClampedArray and Buffer reduce in JS) */
const MPI_REDUCIBLE = new Set<number>(ELEMENT_KINDS.filter((k) => k.mpiReduces).map((k) => k.code));
const FLOAT = new Set<number>(ELEMENT_KINDS.filter((k) => k.numeric === 'float').map((k) => k.code));
const SR_HDR = SMALL_REDUCE.headerBytes;
const SR_DATA = SMALL_REDUCE.dataBytes;
/** the arguments of an addon collective after its communicator */
type CollArgs<K extends keyof AddonCollectives> = AddonCollectives[K] extends (comm: number, ...rest: infer A) => number ? A : never;
/** received messages and collective results from this size on come from (or go back to) the
 *  addon's pool and always pass through one event-loop turn (see recv, typedReduce) */
const LARGE_YIELD = 64 * 1024;
/** ORCHID_MPI_SMALL_ALLREDUCE=0: small typed allreduce as agreement round + MPI's builtin op */
const SMALL_ALLREDUCE = process.env.ORCHID_MPI_SMALL_ALLREDUCE !== '0';
const ERRS = ['Error', 'TypeError', 'ERR_COUNT', 'ERR_ROOT', 'ERR_RANK', 'ERR_TAG', 'ERR_TRANSPORT', 'ERR_ARG'];

function errCode(e: unknown): number {
  const c = e instanceof TypeError ? 'TypeError' : e instanceof OrchidError ? e.code : 'Error';
  const i = ERRS.indexOf(c);
  return -(1 + (i < 0 ? 0 : i));
}

/**
 * The sizes-first step of a collective: `[bytes, elem]` per packet that `prepare` makes, or,
 * when it throws, the error's code in every slot, so the other ranks fail the call too.
 */
function sizeHeaders(n: number, prepare: () => Packet[]): { pkts?: Packet[]; err?: unknown; hdr: Int32Array } {
  const hdr = new Int32Array(2 * n);
  try {
    const pkts = prepare();
    pkts.forEach((p, i) => ((hdr[2 * i] = p.bytes.length), (hdr[2 * i + 1] = p.elem)));
    return { pkts, hdr };
  } catch (err) {
    hdr.fill(errCode(err));
    return { err, hdr };
  }
}

function remoteError(call: string, code: number, from: number, me: number): Error {
  const name = ERRS[-code - 1] ?? 'Error';
  const msg = `${call}: rank ${from} failed (${name}), so the collective fails on rank ${me} too`;
  if (name === 'TypeError') return new TypeError(msg);
  return new OrchidError((name === 'Error' ? 'ERR_TRANSPORT' : name) as ErrorCode, msg);
}

const u8 = (ab: ArrayBuffer, off = 0, len = ab.byteLength - off) => Buffer.from(ab, off, len);
const EMPTY = Buffer.alloc(0);

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  keep: unknown;
}

/** One per process: the addon, its completions, and keeping Node alive while MPI works. */
export class MpiProcess {
  readonly info: AddonInfo;
  private readonly pending = new Map<number, Pending>();
  private readonly keepAlive = setInterval(() => {}, 1 << 30);
  private active = 0;
  ended?: Error;

  constructor(readonly addon: Addon) {
    this.keepAlive.unref();
    const us = (name: string, d: number) => {
      const v = Number(process.env[name] ?? d);
      return Number.isFinite(v) && v >= 0 ? v : d;
    };
    this.info = addon.init((id, err, res) => this.complete(id, err, res), us('ORCHID_MPI_SPIN_US', 50), us('ORCHID_MPI_POLL_US', 1000));
  }

  private complete(id: number, err: string | null, res: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (--this.active === 0) this.keepAlive.unref();
    if (err !== null) p.reject(new OrchidError('ERR_TRANSPORT', `MPI: ${err}`));
    else p.resolve(res);
  }

  /** The promise of an addon operation: `r` is 0 (done), a result (fast path) or an id. */
  wait<T>(r: number | unknown, keep?: unknown): Promise<T> {
    if (typeof r !== 'number') return Promise.resolve(r as T);
    if (r === 0) return Promise.resolve(undefined as T);
    if (this.active++ === 0) this.keepAlive.ref();
    return new Promise<T>((resolve, reject) => this.pending.set(r, { resolve: resolve as (v: unknown) => void, reject, keep }));
  }

  failAll(e: Error): void {
    this.ended ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.active = 0;
    this.keepAlive.unref();
  }

  close(): void {
    clearInterval(this.keepAlive);
  }
}

function packetOf(elem: number, ab: ArrayBuffer): Packet {
  return { elem, bytes: u8(ab) };
}

export class MpiBackend implements CommBackend {
  readonly rank: number;
  readonly size: number;
  readonly hostname: string;
  readonly tagUb: number;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly proc: MpiProcess,
    readonly handle: number,
  ) {
    const [rank, size] = proc.addon.commInfo(handle);
    this.rank = rank;
    this.size = size;
    this.hostname = osHostname();
    this.tagUb = proc.info.tagUb;
  }

  private get a(): Addon {
    return this.proc.addon;
  }

  private coll<K extends keyof AddonCollectives>(name: K, ...args: CollArgs<K>): Promise<void> {
    const start = this.a[name] as unknown as (comm: number, ...rest: CollArgs<K>) => number;
    return this.proc.wait<void>(start(this.handle, ...args), args);
  }

  /** Collectives on one communicator start in the same order on every rank (MPI's rule for
   *  nonblocking collectives), so each waits for the previous one here. */
  private serial<T>(body: () => Promise<T>): Promise<T> {
    const run = this.queue.then(body, body);
    this.queue = run.catch(() => {});
    return run;
  }

  // ---- point to point ----

  send(pkt: Packet, dest: number, tag: number): Promise<void> {
    return this.proc.wait<void>(this.a.isend(this.handle, dest, tag, pkt.elem, pkt.bytes), pkt.bytes);
  }

  async recv(source: number, tag: number, _call?: string, into?: TypedArray): Promise<RawMessage> {
    // with `into`, a large payload of its kind that fits is received straight into it and the
    // result carries its byte count instead of a buffer
    const target = into && new Uint8Array(into.buffer, into.byteOffset, into.byteLength);
    const r = this.a.recv(this.handle, source, tag, false, target, target && elemCode(into));
    const m = await this.proc.wait<[number, number, number, ArrayBuffer | number]>(r, target);
    if (typeof m[3] === 'number') return { source: m[0], tag: m[1], packet: { elem: m[2], bytes: EMPTY }, written: m[3] };
    // A large message received at once (the fast path) resolves through the event loop: node
    // frees dropped external buffers (the addon's finalizers) only there, and a loop of
    // receives that never leaves the microtask queue piled them up (1.2 GB for 600 x 4 MiB
    // under Open MPI). Small messages keep the synchronous path.
    if (typeof r !== 'number' && m[3].byteLength >= LARGE_YIELD) await new Promise(setImmediate);
    return { source: m[0], tag: m[1], packet: packetOf(m[2], m[3]) };
  }

  async probe(source: number, tag: number): Promise<RawStatus> {
    const s = await this.proc.wait<[number, number, number]>(this.a.recv(this.handle, source, tag, true));
    return { source: s[0], tag: s[1], bytes: s[2] };
  }

  iprobe(source: number, tag: number): RawStatus | undefined {
    const s = this.a.iprobe(this.handle, source, tag);
    return s && { source: s[0], tag: s[1], bytes: s[2] };
  }

  // ---- collectives ----

  barrier(): Promise<void> {
    return this.serial(() => this.coll('barrier'));
  }

  bcast(root: number, prepare: () => Packet, check: () => void): Promise<unknown> {
    check(); // a bad root cannot be reported through MPI: it fails here, before any MPI call
    return this.serial(async () => {
      const me = this.rank === root;
      const { pkts, err, hdr } = me ? sizeHeaders(1, () => [prepare()]) : { hdr: new Int32Array(2) };
      const pkt = pkts?.[0];
      await this.coll('bcast', hdr, 2, I32, root);
      if (hdr[0]! < 0) throw me ? err : remoteError('bcast', hdr[0]!, root, this.rank);
      if (me) {
        if (hdr[0]! > 0) await this.coll('bcast', pkt!.bytes, hdr[0], BYTE, root);
        return undefined;
      }
      const ab = new ArrayBuffer(hdr[0]!);
      if (hdr[0]! > 0) await this.coll('bcast', ab, hdr[0], BYTE, root);
      return decode(packetOf(hdr[1]!, ab));
    });
  }

  scatter(root: number, prepare: () => Packet[], check: () => void): Promise<unknown> {
    check();
    return this.serial(async () => {
      const n = this.size;
      const me = this.rank === root;
      const { pkts, err, hdr: hdrs } = me ? sizeHeaders(n, prepare) : { pkts: undefined, err: undefined, hdr: null };
      const mine = new Int32Array(2);
      await this.coll('scatter', hdrs, 2, mine, I32, root);
      if (mine[0]! < 0) throw me ? err : remoteError('scatter', mine[0]!, root, this.rank);
      let send: Buffer | null = null;
      let counts: Int32Array | null = null;
      let displs: Int32Array | null = null;
      if (me) {
        send = contiguous(pkts!.map((p) => p.bytes));
        counts = Int32Array.from(pkts!, (p) => p.bytes.length);
        displs = offsets(counts);
      }
      const ab = new ArrayBuffer(mine[0]!);
      await this.coll('scatterv', send, counts, displs, ab, mine[0], root);
      return decode(packetOf(mine[1]!, ab));
    });
  }

  gather(value: unknown, root: number, all: boolean, call: string, check: () => void): Promise<unknown[] | undefined> {
    check();
    return this.gatherPackets(root, () => encode(value, call), all, call);
  }

  private gatherPackets(root: number, prepare: () => Packet, all: boolean, call: string): Promise<unknown[] | undefined> {
    return this.serial(async () => {
      const n = this.size;
      const { pkts, err, hdr } = sizeHeaders(1, () => [prepare()]);
      const pkt = pkts?.[0];
      const hdrs = new Int32Array(2 * n);
      await this.coll('allgather', hdr, 2, hdrs, I32);
      if (err) throw err;
      for (let i = 0; i < n; i++) if (hdrs[2 * i]! < 0) throw remoteError(call, hdrs[2 * i]!, i, this.rank);
      const counts = Int32Array.from({ length: n }, (_, i) => hdrs[2 * i]!);
      const elems = Array.from({ length: n }, (_, i) => hdrs[2 * i + 1]!);
      const displs = offsets(counts);
      const total = displs[n - 1]! + counts[n - 1]!;
      const getsIt = all || this.rank === root;
      const ab = getsIt ? new ArrayBuffer(total) : null;
      if (all) await this.coll('allgatherv', pkt!.bytes, hdr[0], ab!, counts, displs);
      else await this.coll('gatherv', pkt!.bytes, hdr[0], ab, getsIt ? counts : null, getsIt ? displs : null, root);
      return getsIt ? unpackParts(ab!, counts, displs, elems) : undefined;
    });
  }

  alltoall(parts: readonly unknown[], check: () => void): Promise<unknown[]> {
    return this.serial(async () => {
      const n = this.size;
      const { pkts, err, hdr: hdrs } = sizeHeaders(n, () => {
        check();
        return parts.map((p) => encode(p, 'alltoall'));
      });
      const got = new Int32Array(2 * n);
      await this.coll('alltoall', hdrs, 2, got, I32);
      if (err) throw err;
      for (let i = 0; i < n; i++) if (got[2 * i]! < 0) throw remoteError('alltoall', got[2 * i]!, i, this.rank);
      const scounts = Int32Array.from(pkts!, (p) => p.bytes.length);
      const rcounts = Int32Array.from({ length: n }, (_, i) => got[2 * i]!);
      const rdispls = offsets(rcounts);
      const ab = new ArrayBuffer(rdispls[n - 1]! + rcounts[n - 1]!);
      await this.coll('alltoallv', contiguous(pkts!.map((p) => p.bytes)), scounts, offsets(scounts), ab, rcounts, rdispls);
      return unpackParts(ab, rcounts, rdispls, Array.from({ length: n }, (_, i) => got[2 * i + 1]!));
    });
  }

  reduce(kind: ReduceKind, value: unknown, r: Reducer, root: number, check: () => void): Promise<unknown> {
    const op = OPS.indexOf(r.name);
    const arith = ON_FLOATS.has(op);
    // numbers with sum/prod/min/max: one MPI call on one double, nothing else
    if (typeof value === 'number' && arith) {
      return this.serial(async () => {
        check();
        const s = new Float64Array([value]);
        const out = new Float64Array(1);
        if (kind === 'reduce') await this.coll('reduce', s, out, 1, F64, op, root);
        else await this.coll(kind, s, out, 1, F64, op);
        if (kind === 'exscan' && this.rank === 0) return undefined;
        if (kind === 'reduce' && this.rank !== root) return undefined;
        return out[0];
      });
    }
    const elem = elemCode(value);
    if (op >= 0 && MPI_REDUCIBLE.has(elem) && (arith || !FLOAT.has(elem)))
      return this.serial(() => this.typedReduce(kind, value as TypedArray, elem, op, root, check));
    return this.jsReduce(kind, value, r, root, check);
  }

  /** Typed arrays with a builtin op: agree on length and kind (MAX of [len, -len, elem, -elem, err]), then MPI reduces. */
  private async typedReduce(kind: ReduceKind, v: TypedArray, elem: number, op: number, root: number, check: () => void): Promise<unknown> {
    let err: unknown;
    try {
      check();
    } catch (e) {
      err = e;
    }
    const len = v.length;
    // small allreduce: the length agreement travels in the same MPI call (a user-defined MPI_Op)
    if (kind === 'allreduce' && v.byteLength <= SR_DATA && SMALL_ALLREDUCE) {
      const block = new Uint8Array(SR_BLOCK);
      const h = new Int32Array(block.buffer, 0, SMALL_REDUCE.fields.length);
      [h[SR.len], h[SR.negLen], h[SR.kind], h[SR.negKind], h[SR.op], h[SR.error], h[SR.negOp]] = [len, -len, elem, -elem, op, err ? 1 : 0, -op];
      block.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), SR_HDR);
      const got = new Uint8Array(SR_BLOCK);
      await this.coll('smallAllreduce', block, got);
      if (err) throw err;
      const g = new Int32Array(got.buffer, 0, SMALL_REDUCE.fields.length);
      if (g[SR.error]) throw new TypeError(`${kind}: another rank's operand was rejected, so the ${kind} fails on rank ${this.rank} too`);
      const sameKind = g[SR.kind] === -g[SR.negKind]!;
      const sameOp = g[SR.op] === -g[SR.negOp]!;
      if (g[SR.len] !== -g[SR.negLen]! || !sameKind || !sameOp)
        throw new OrchidError('ERR_COUNT', `${kind}: the typed arrays differ in ${!sameKind ? 'element type' : !sameOp ? 'op' : `length (${-g[SR.negLen]!} … ${g[SR.len]} elements)`} across ranks (rank ${this.rank} has ${len})`);
      const C = elemCtor(elem);
      const out = new C(len) as TypedArray;
      new Uint8Array(out.buffer).set(got.subarray(SR_HDR, SR_HDR + v.byteLength));
      return out;
    }
    const hdr = Int32Array.from([len, -len, elem, -elem, err ? 1 : 0]);
    const agreed = new Int32Array(5);
    await this.coll('allreduce', hdr, agreed, 5, I32, OP.max);
    if (err) throw err;
    if (agreed[4]) throw new TypeError(`${kind}: another rank's operand was rejected, so the ${kind} fails on rank ${this.rank} too`);
    if (agreed[0] !== -agreed[1]! || agreed[2] !== -agreed[3]!)
      throw new OrchidError('ERR_COUNT', `${kind}: the typed arrays differ in ${agreed[2] !== -agreed[3]! ? 'element type' : `length (${-agreed[1]!} … ${agreed[0]} elements)`} across ranks (rank ${this.rank} has ${len})`);
    const C = elemCtor(elem);
    const gets = kind !== 'reduce' || this.rank === root;
    // a large result goes into recycled memory from the addon's pool (MPI writes all of it):
    // a fresh 8 MB array costs ~2000 page faults while MPI fills it (8 MB allreduce 4.6-5.8 ms
    // -> ~3 ms when the memory is reused); it resolves through the event loop, where node
    // returns dropped ones to the pool
    const bytes = len * C.BYTES_PER_ELEMENT;
    const pooled = gets && bytes >= LARGE_YIELD && !(kind === 'exscan' && this.rank === 0);
    const out = gets ? new C(pooled ? this.a.alloc(bytes) : new ArrayBuffer(bytes), 0, len) : null;
    if (kind === 'reduce') await this.coll('reduce', v, out, len, elem, op, root);
    else await this.coll(kind, v, out!, len, elem, op);
    if (pooled) await new Promise(setImmediate);
    if (kind === 'exscan' && this.rank === 0) return undefined;
    return out ?? undefined;
  }

  /** Custom functions and operands MPI cannot reduce: gather the values, fold in rank order. */
  private async jsReduce(kind: string, value: unknown, r: Reducer, root: number, check: () => void): Promise<unknown> {
    const prep = () => {
      check();
      return encode(value, kind);
    };
    if (kind === 'reduce') {
      const all = await this.gatherPackets(root, prep, false, kind);
      return all && fold(all, r, all.length);
    }
    const all = (await this.gatherPackets(root, prep, true, kind))!;
    if (kind === 'allreduce') return fold(all, r, all.length);
    if (kind === 'scan') return fold(all, r, this.rank + 1);
    return this.rank === 0 ? undefined : fold(all, r, this.rank);
  }

  async split(color: number, key: number, shared: boolean): Promise<CommBackend | null> {
    const h = await this.serial(() => this.proc.wait<number | null>(this.a.split(this.handle, color, key, shared)));
    return h === null ? null : new MpiBackend(this.proc, h);
  }

  abort(code: number): void {
    this.a.abort(code);
  }

  async finalize(): Promise<void> {
    await this.barrier();
    this.a.finalize();
    this.proc.close();
  }
}

function fold(values: unknown[], r: Reducer, n: number): unknown {
  let acc = values[0];
  for (let i = 1; i < n; i++) acc = r.combine(acc, values[i]);
  return acc;
}

function offsets(counts: Int32Array): Int32Array {
  const d = new Int32Array(counts.length);
  for (let i = 1; i < counts.length; i++) d[i] = d[i - 1]! + counts[i - 1]!;
  return d;
}

/** One buffer holding `parts` in order: no copy when they already lie back to back in one buffer. */
function contiguous(parts: Buffer[]): Buffer {
  if (parts.length === 0) return Buffer.alloc(0);
  const first = parts[0]!;
  let end = first.byteOffset + first.byteLength;
  let ok = true;
  for (let i = 1; i < parts.length && ok; i++) {
    const p = parts[i]!;
    ok = p.buffer === first.buffer && p.byteOffset === end;
    end = p.byteOffset + p.byteLength;
  }
  if (ok) return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
  return Buffer.concat(parts);
}

/** Parts received back to back in `ab`: typed arrays of one kind stay views of that one buffer. */
function unpackParts(ab: ArrayBuffer, counts: Int32Array, displs: Int32Array, elems: number[]): unknown[] {
  const n = counts.length;
  const e0 = elems[0]!;
  if (e0 !== ELEM_NONE && elems.every((e) => e === e0)) {
    const C = elemCtor(e0);
    return Array.from({ length: n }, (_, i) =>
      e0 === ELEM_BUFFER ? Buffer.from(ab, displs[i], counts[i]) : new C(ab, displs[i]!, counts[i]! / C.BYTES_PER_ELEMENT),
    );
  }
  return Array.from({ length: n }, (_, i) => decode({ elem: elems[i]!, bytes: u8(ab, displs[i], counts[i]) }));
}
