// The agreement step of the mpi backend: every collective starts with one MPI_Iallreduce of
// one agreement block (codec/abi.ts SMALL_REDUCE, native/small_reduce.h), whose header
// compares what every rank called (the signature of collectives/signature.ts), the
// typed-array length, element kind and op of a reduction, and whether a local check failed.
// MPI matches collectives by order alone, so without it calls that differ across ranks give
// undefined results or hang; with it every rank fails the same way before anything else is
// posted. A small allreduce (a number, or a typed array of at most 128 bytes, with an op MPI
// applies) travels in the block's data part: the agreement and the reduction are one call.
// ORCHID_CHECK=0 turns the signature check off (then mismatched calls are undefined, as in
// MPI); reductions of typed arrays still compare lengths through the block.
import { errorFromName, errorNameOf, errorNumber, OrchidError } from '../../errors.js';
import { SMALL_REDUCE, SR, SR_RANKS as R } from '../../codec/abi.js';
import { mismatch } from '../collectives/signature.js';
import type { MpiColl } from './mpi-coll.js';
import type { TypedArray } from '../../codec/index.js';

/** ORCHID_CHECK=0: no signature check (each rank trusts that the others made the same call). */
export { CHECK } from '../collectives/signature.js';

const HDR = SMALL_REDUCE.headerBytes;
const BLOCK = HDR + SMALL_REDUCE.dataBytes;
const FIELDS = SMALL_REDUCE.fields.length;
/** the most element bytes the block carries */
export const BLOCK_DATA = SMALL_REDUCE.dataBytes;

export function remoteError(call: string, code: number, from: number, me: number): Error {
  const name = errorNameOf(code);
  return errorFromName(name, `${call}: rank ${from} failed (${name}), so the collective fails on rank ${me} too`);
}

/** Run a local check; its error, if any. */
export function tryCheck(check: () => void): unknown {
  try {
    check();
    return undefined;
  } catch (e) {
    return e ?? new Error('check failed');
  }
}

/** A reduction's operand as the block compares (and, for `data`, reduces) it. */
export interface Operand {
  /** typed-array length (or 1 for a number) */
  len: number;
  /** element kind code of the elements MPI combines */
  elem: number;
  /** op code (codec/abi.ts OP) */
  op: number;
  /** the elements themselves, at most BLOCK_DATA bytes: reduced in the same call */
  data?: TypedArray;
  /** a number, as one double (elem Float64Array, len 1): reduced in the same call */
  value?: number;
}

/** A send and a receive block with the views agree() writes and reads through. */
interface Blocks {
  send: Uint8Array;
  recv: Uint8Array;
  hdr: Float64Array;
  got: Float64Array;
  sendValue: Float64Array;
  gotValue: Float64Array;
  /** views of the data part of both blocks, by element constructor, made once */
  views: Map<unknown, [Elems, Elems]>;
}

/** A typed array's elements, as agree() copies them (numbers or bigints). */
type Elems = { [i: number]: number | bigint; readonly length: number };

function blocks(): Blocks {
  const send = new Uint8Array(BLOCK);
  const recv = new Uint8Array(BLOCK);
  return {
    send,
    recv,
    hdr: new Float64Array(send.buffer, 0, FIELDS),
    got: new Float64Array(recv.buffer, 0, FIELDS),
    sendValue: new Float64Array(send.buffer, HDR, 1),
    gotValue: new Float64Array(recv.buffer, HDR, 1),
    views: new Map(),
  };
}

// One send and one receive block per process, reused (a typed array made per call, and its
// buffer handed to the addon, cost more than the reduction: V8 moves it off its heap): a
// collective on one communicator waits for the previous one (serial()), and one on another
// communicator meanwhile takes fresh ones.
let spare: Blocks | undefined;

/**
 * Agree on the call: throws on every rank when any rank's check failed (that rank's error
 * there, one naming it elsewhere), when the signatures differ (ERR_COLLECTIVE naming two of
 * the calls), or when the operands' lengths, kinds or ops differ (ERR_COUNT). With
 * `operand.data`, resolves to the reduced elements (a new typed array of its kind); with
 * `operand.value`, to the reduced number.
 * `sig` 0 on every rank (ORCHID_CHECK=0) compares operands only.
 */
export async function agree(c: MpiColl, call: string, sig: number, err: unknown, operand?: Operand, seq?: number): Promise<TypedArray | number | undefined> {
  const me = c.rank;
  const bufs = spare ?? blocks();
  spare = undefined;
  try {
    const w = bufs.hdr;
    const len = operand?.len ?? -1;
    const elem = operand?.elem ?? -1;
    const op = operand?.op ?? -1;
    w[SR.sigHi] = sig * R + me;
    w[SR.sigLo] = -sig * R + me;
    w[SR.len] = len;
    w[SR.negLen] = -len;
    w[SR.error] = err === undefined ? 0 : -errorNumber(err) * R + me;
    w[SR.kind] = elem;
    w[SR.negKind] = -elem;
    w[SR.op] = op;
    w[SR.negOp] = -op;
    const data = err === undefined ? operand?.data : undefined;
    // element by element through a view of the block: reading a small typed array's
    // .buffer would make V8 move it off its heap (more than the whole reduction costs)
    let views: [Elems, Elems] | undefined;
    if (data) {
      const C = data.constructor as new (b: ArrayBufferLike, o: number, n: number) => TypedArray;
      views = bufs.views.get(C);
      if (!views) {
        const n = SMALL_REDUCE.dataBytes / (C as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
        views = [new C(bufs.send.buffer, HDR, n) as unknown as Elems, new C(bufs.recv.buffer, HDR, n) as unknown as Elems];
        bufs.views.set(C, views);
      }
      const d = data as unknown as Elems;
      for (let i = 0; i < d.length; i++) views[0][i] = d[i]!;
    } else if (operand?.value !== undefined) bufs.sendValue[0] = operand.value;
    await c.coll('smallAllreduce', bufs.send, bufs.recv);
    if (err !== undefined) throw err;
    const g = bufs.got;
    if (g[SR.error]! > 0) {
      const code = Math.floor(g[SR.error]! / R);
      throw remoteError(call, -code, g[SR.error]! - code * R, me);
    }
    const hi = Math.floor(g[SR.sigHi]! / R);
    const lo = -Math.floor(g[SR.sigLo]! / R);
    if (hi !== lo) {
      const [theirs, them] = sig !== hi ? [hi, g[SR.sigHi]! - hi * R] : [lo, g[SR.sigLo]! + lo * R];
      throw mismatch(call, sig, me, theirs, them, seq);
    }
    const differ = g[SR.kind] !== -g[SR.negKind]! ? 'element type' : g[SR.op] !== -g[SR.negOp]! ? 'op' : g[SR.len] !== -g[SR.negLen]! ? `length (${-g[SR.negLen]!} … ${g[SR.len]} elements)` : undefined;
    if (differ) throw new OrchidError('ERR_COUNT', `${call}: the typed arrays differ in ${differ} across ranks (rank ${me} has ${len})`);
    if (operand?.value !== undefined) return bufs.gotValue[0];
    if (!data) return undefined;
    const out = new (data.constructor as new (n: number) => TypedArray)(data.length);
    const o = out as unknown as Elems;
    for (let i = 0; i < o.length; i++) o[i] = views![1][i]!;
    return out;
  } finally {
    spare = bufs;
  }
}
