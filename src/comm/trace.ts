// The recorder behind orchidrun --trace / --profile / --live: every call a Comm hands to its
// CommBackend is timed here, with its peer (as a world rank), tag, bytes and communicator.
// traceBackend() wraps a backend once, when the Comm is made; with ORCHID_TRACE unset it
// returns the backend itself, so an untraced job pays nothing per call. Calls go into a
// Float64Array (trace-format.ts) handed to a sink in chunks (rank/trace-ship.ts sends them to
// the launcher); per-call counts, times and bytes, the bytes sent to each rank and the time
// with at least one call in flight are kept apart from the chunks, so the profile stays exact
// when chunks are dropped.
import { performance } from 'node:perf_hooks';
import { isTypedArray, type Packet } from '../codec/index.js';
import { backendFields, type CommBackend, type RawMessage } from './comm-backend.js';
import {
  F_BYTES, F_CALL, F_COMM, F_FLAGS, F_PEER, F_T0, F_T1, F_TAG, FAILED, FIELDS, HALF, parseTraceModes, RECV, SEND,
  type TraceComm, type TraceModes,
} from './trace-format.js';
import { ANY_SOURCE } from './wildcards.js';

/** What this rank records, from ORCHID_TRACE (set by orchidrun); undefined: nothing. */
export const traceModes: TraceModes | undefined = parseTraceModes(process.env.ORCHID_TRACE);

/** Calls per chunk handed to the sink (ORCHID_TRACE_CHUNK). */
const CHUNK = Math.max(1, Math.floor(Number(process.env.ORCHID_TRACE_CHUNK)) || 16384);

/** A chunk of calls and the names and communicators first used since the previous one. */
export interface TraceChunk {
  calls: Float64Array;
  names: string[];
  comms: TraceComm[];
}

/** Totals kept whether or not the calls themselves are shipped. */
export interface TraceTotals {
  names: string[];
  /** per name: calls counted, total ms, payload bytes where known (sent, received, or the rank's part of a collective) */
  count: number[];
  totalMs: number[];
  bytes: number[];
  /** per world rank: point-to-point bytes and messages this rank sent there */
  sentBytes: number[];
  sentMsgs: number[];
  recvBytes: number;
  recvMsgs: number;
  /** calls not shipped (the sink refused their chunk) */
  dropped: number;
  /**
   * ms with at least one call in flight (the union of the calls' times: overlapping isend/irecv
   * count once; a nonblocking request counts from its post to its completion)
   */
  busyMs: number;
  /** performance.now() when the world communicator was made, and now */
  startMs: number;
  endMs: number;
}

const names: string[] = [];
const nameIds = new Map<string, number>();
const count: number[] = [];
const totalMs: number[] = [];
const callBytes: number[] = [];
const comms: TraceComm[] = [];
let shippedNames = 0;
let shippedComms = 0;
let sentBytes = new Float64Array(0);
let sentMsgs = new Float64Array(0);
let recvBytes = 0;
let recvMsgs = 0;
let dropped = 0;
let startMs = 0;
/** calls started and not yet recorded; since when at least one has been */
let active = 0;
let busySince = 0;
let busyMs = 0;
let buf = new Float64Array(traceModes?.events ? CHUNK * FIELDS : 0);
let n = 0;
let sink: ((chunk: TraceChunk) => boolean) | undefined;

const now = (): number => performance.now();

function nameId(call: string): number {
  let id = nameIds.get(call);
  if (id === undefined) {
    id = names.length;
    names.push(call);
    nameIds.set(call, id);
    count.push(0);
    totalMs.push(0);
    callBytes.push(0);
  }
  return id;
}

function chunk(): TraceChunk {
  const c: TraceChunk = { calls: buf.subarray(0, n * FIELDS), names: names.slice(shippedNames), comms: comms.slice(shippedComms) };
  shippedNames = names.length;
  shippedComms = comms.length;
  return c;
}

/** The full buffer goes to the sink, which encodes it before returning: the buffer is reused. */
function flushChunk(): void {
  if (n === 0) return;
  if (!sink?.(chunk())) dropped += n;
  n = 0;
}

/** A call starts (record() ends it): its start time. */
function begin(): number {
  const t = now();
  if (active++ === 0) busySince = t;
  return t;
}

/** One call, finished (started by begin()). */
function record(call: number, t0: number, t1: number, peer: number, tag: number, bytes: number, comm: number, flags: number): void {
  if (active > 0 && --active === 0) busyMs += t1 - busySince;
  if ((flags & HALF) === 0) {
    count[call]!++;
    totalMs[call]! += t1 - t0;
  }
  // a failed call is counted and timed, but moved no bytes
  const moved = (flags & FAILED) === 0;
  if (moved && bytes > 0) callBytes[call]! += bytes;
  if (moved && flags & SEND) {
    if (peer >= 0 && bytes >= 0) {
      sentBytes[peer]! += bytes;
      sentMsgs[peer]!++;
    }
  } else if (moved && flags & RECV && bytes >= 0) {
    recvBytes += bytes;
    recvMsgs++;
  }
  if (buf.length === 0) return;
  const o = n * FIELDS;
  buf[o + F_CALL] = call;
  buf[o + F_T0] = t0;
  buf[o + F_T1] = t1;
  buf[o + F_PEER] = peer;
  buf[o + F_TAG] = tag;
  buf[o + F_BYTES] = bytes;
  buf[o + F_COMM] = comm;
  buf[o + F_FLAGS] = flags;
  if (++n === CHUNK) flushChunk();
}

/**
 * Where full chunks go; returns false when it cannot take one (the calls are counted as
 * dropped). It must copy what it keeps before returning: the chunk's array is written again.
 */
export function setTraceSink(fn: (chunk: TraceChunk) => boolean): void {
  sink = fn;
}

/** The calls not shipped yet (the last chunk), for finalize. */
export function takeTraceChunk(): TraceChunk | undefined {
  if (buf.length === 0) return undefined;
  const c = chunk();
  buf = new Float64Array(CHUNK * FIELDS);
  n = 0;
  return c;
}

export function traceTotals(): TraceTotals {
  const t = now();
  return {
    names: [...names], count: [...count], totalMs: [...totalMs], bytes: [...callBytes], sentBytes: [...sentBytes], sentMsgs: [...sentMsgs],
    recvBytes, recvMsgs, dropped, busyMs: busyMs + (active > 0 ? t - busySince : 0), startMs, endMs: t,
  };
}

/** Messages and bytes moved so far (the live view's rates). */
export function traceCounters(): { sentMsgs: number; sentBytes: number; recvMsgs: number; recvBytes: number } {
  let m = 0;
  let b = 0;
  for (let i = 0; i < sentMsgs.length; i++) {
    m += sentMsgs[i]!;
    b += sentBytes[i]!;
  }
  return { sentMsgs: m, sentBytes: b, recvMsgs, recvBytes };
}

/** The start of a call that is not a backend call (finalize); traceCall() ends it. */
export function traceBegin(): number {
  return traceModes ? begin() : now();
}

/** A call that is not a backend call (finalize), on the world, started at `t0` by traceBegin(). */
export function traceCall(call: string, t0: number, failed = false): void {
  if (traceModes) record(nameId(call), t0, now(), -1, -1, -1, 0, failed ? FAILED : 0);
}

/** Payload bytes of a value when cheaply known: typed arrays, Buffers, numbers. */
function sizeOf(v: unknown): number {
  if (isTypedArray(v)) return v.byteLength;
  if (typeof v === 'number' || typeof v === 'bigint') return 8;
  return -1;
}

/** Bytes of all parts when every one is known, else -1. */
function sizeOfAll(parts: readonly unknown[]): number {
  if (!Array.isArray(parts)) return -1;
  let s = 0;
  for (const p of parts) {
    const b = sizeOf(p);
    if (b < 0) return -1;
    s += b;
  }
  return s;
}

const traced = new WeakSet<CommBackend>();

/**
 * `be` with every call recorded (when ORCHID_TRACE asks for it; else `be` itself). The first
 * backend wrapped is the world; communicators made by split/dup/splitShared come back
 * already wrapped, named after their parent. A new CommBackend method is one line below.
 */
export function traceBackend(be: CommBackend): CommBackend {
  if (!traceModes || traced.has(be)) return be;
  if (comms.length === 0) {
    startMs = now();
    sentBytes = new Float64Array(be.size);
    sentMsgs = new Float64Array(be.size);
    return wrap(be, { id: '0', size: be.size, world: Array.from({ length: be.size }, (_, i) => i) });
  }
  // a communicator made some other way than split
  return wrap(be, { id: `?${comms.length}`, size: be.size, world: [...be.members] });
}

function wrap(be: CommBackend, info: TraceComm): CommBackend {
  const c = comms.length;
  comms.push(info);
  const w = info.world;
  let splits = 0;
  const peerOf = (r: number): number => (r >= 0 && r < w.length ? w[r]! : -1);

  /** `fn()`, a call begun at `t0`: a synchronous throw is recorded as the call failed. */
  const sync = <T>(fn: () => T, failed: () => void): T => {
    try {
      return fn();
    } catch (e) {
      failed();
      throw e;
    }
  };

  /** Records `p`'s call when it settles. */
  const watch = <T>(call: string, peer: number, bytes: () => number, flags: number, start: () => Promise<T>): Promise<T> => {
    const id = nameId(call);
    const t0 = begin();
    return sync(start, () => record(id, t0, now(), peer, -1, -1, c, flags | FAILED)).then(
      (v) => {
        record(id, t0, now(), peer, -1, bytes(), c, flags);
        return v;
      },
      (e: unknown) => {
        record(id, t0, now(), peer, -1, -1, c, flags | FAILED);
        throw e;
      },
    );
  };
  const unknown = (): number => -1;
  const got = (call: string, t0: number, m: RawMessage): RawMessage => {
    record(nameId(call), t0, now(), peerOf(m.source), m.tag, m.written ?? m.packet.bytes.byteLength, c, RECV);
    return m;
  };
  const prepared = (prepare: () => Packet, out: { bytes: number }) => (): Packet => {
    const p = prepare();
    out.bytes = p.bytes.byteLength;
    return p;
  };

  const out: CommBackend = {
    ...backendFields(be),
    send: (pkt, dest, tag, call) => {
      const flags = call === 'sendrecv' ? SEND | HALF : SEND;
      const id = nameId(call);
      const bytes = pkt.bytes.byteLength;
      const peer = peerOf(dest);
      const t0 = begin();
      let r;
      try {
        r = be.send(pkt, dest, tag, call);
      } catch (e) {
        record(id, t0, now(), peer, tag, bytes, c, flags | FAILED);
        throw e;
      }
      if (r === undefined) {
        record(id, t0, now(), peer, tag, bytes, c, flags);
        return r;
      }
      return r.then(
        () => record(id, t0, now(), peer, tag, bytes, c, flags),
        (e: unknown) => {
          record(id, t0, now(), peer, tag, bytes, c, flags | FAILED);
          throw e;
        },
      );
    },
    recv: (source, tag, call, into) => {
      const t0 = begin();
      const failed = (e: unknown): never => {
        record(nameId(call), t0, now(), source === ANY_SOURCE ? -1 : peerOf(source), tag, -1, c, RECV | FAILED);
        throw e;
      };
      let r;
      try {
        r = be.recv(source, tag, call, into);
      } catch (e) {
        return failed(e);
      }
      return r instanceof Promise ? r.then((m) => got(call, t0, m), failed) : got(call, t0, r);
    },
    probe: (source, tag, call) => {
      const t0 = begin();
      const failed = (): void => record(nameId(call), t0, now(), source === ANY_SOURCE ? -1 : peerOf(source), tag, -1, c, FAILED);
      return sync(() => be.probe(source, tag, call), failed).then(
        (st) => {
          record(nameId(call), t0, now(), peerOf(st.source), st.tag, st.bytes, c, 0);
          return st;
        },
        (e: unknown) => {
          failed();
          throw e;
        },
      );
    },
    iprobe: (source, tag) => {
      const t0 = begin();
      const st = sync(() => be.iprobe(source, tag), () => record(nameId('iprobe'), t0, now(), -1, tag, -1, c, FAILED));
      record(nameId('iprobe'), t0, now(), st ? peerOf(st.source) : -1, st ? st.tag : tag, st ? st.bytes : -1, c, 0);
      return st;
    },
    barrier: (call) => watch(call ?? 'barrier', -1, unknown, 0, () => be.barrier(call)),
    bcast: (root, prepare, check) => {
      const b = { bytes: -1 };
      return watch('bcast', peerOf(root), () => b.bytes, 0, () => be.bcast(root, prepared(prepare, b), check));
    },
    scatter: (root, prepare, check) => {
      const b = { bytes: -1 };
      const parts = (): Packet[] => {
        const ps = prepare();
        b.bytes = ps.reduce((s, p) => s + p.bytes.byteLength, 0);
        return ps;
      };
      return watch('scatter', peerOf(root), () => b.bytes, 0, () => be.scatter(root, parts, check));
    },
    gather: (value, root, all, call, check) => watch(call, all ? -1 : peerOf(root), () => sizeOf(value), 0, () => be.gather(value, root, all, call, check)),
    alltoall: (parts, check, call) => watch(call ?? 'alltoall', -1, () => sizeOfAll(parts), 0, () => be.alltoall(parts, check, call)),
    reduce: (kind, value, r, root, check, call) =>
      watch(call ?? kind, kind === 'reduce' ? peerOf(root) : -1, () => sizeOf(value), 0, () => be.reduce(kind, value, r, root, check, call)),
    split: (color, key, shared, call) => {
      const k = splits++;
      return watch(call, -1, unknown, 0, async () => {
        const child = await be.split(color, key, shared, call);
        if (!child) return null;
        return wrap(child, { id: `${info.id}.${k}`, size: child.size, world: [...child.members] });
      });
    },
  };
  traced.add(out);
  return out;
}

