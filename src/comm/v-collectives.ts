// The vector collectives with MPI's buffer semantics: gatherv, allgatherv and alltoallv move
// typed arrays with per-rank counts and displacements (in elements) into one result buffer of
// the element kind; reduceScatter and reduceScatterBlock hand rank i block i of a reduction.
// They are built on the transport's gather / allgather / alltoall / allreduce (on mpi:
// MPI_Igatherv, Iallgatherv, Ialltoallv and MPI's builtin reductions underneath), so every
// check that can be made before data moves runs inside that collective and fails it on every
// member; what only a receiver can see (a part whose length differs from its count there,
// MPI's truncation error) fails the call on that receiver, naming the sender.
import { elemCode, elemCtor, ELEM_BUFFER, ELEM_NONE, isTypedArray, type TypedArray } from '../codec/index.js';
import { OrchidError } from '../errors.js';
import type { CommBackend } from './comm-backend.js';
import { checkRoot } from './validate.js';

/** Counts and displacements, in elements, one per rank (MPI's recvcounts / displs). */
export interface VSpec {
  counts: ArrayLike<number>;
  /** where rank i's block starts; default: back to back in rank order (the counts' prefix sums) */
  displs?: ArrayLike<number>;
}

/** A checked spec: plain arrays, displacements filled in. */
interface Layout {
  counts: number[];
  displs: number[];
  /** elements the blocks span: max(displs[i] + counts[i]) */
  extent: number;
  /** the blocks lie back to back in rank order from 0 */
  packed: boolean;
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

function listOf(call: string, me: number, size: number, what: string, v: unknown): number[] {
  const ok = v !== null && typeof v === 'object' && typeof (v as ArrayLike<number>).length === 'number';
  const list = ok ? Array.from(v as ArrayLike<unknown>) : [];
  if (!ok || list.length !== size || !list.every(isCount))
    throw new OrchidError('ERR_COUNT', `${call}: ${what} must be ${size} non-negative integers (one per rank), got ${ok ? `[${list.join(', ')}]` : String(v)} (called on rank ${me})`);
  return list as number[];
}

/**
 * Checks a spec: `counts` and `displs` of `size` non-negative integers; with `receive`, no
 * element is written twice (MPI's rule for receive buffers). Throws ERR_COUNT naming the call and rank.
 */
export function layout(call: string, me: number, size: number, spec: unknown, what: string, receive: boolean): Layout {
  if (spec === null || typeof spec !== 'object')
    throw new OrchidError('ERR_COUNT', `${call}: ${what} must be { counts, displs? }, got ${String(spec)} (called on rank ${me})`);
  const s = spec as Partial<VSpec>;
  const counts = listOf(call, me, size, `${what}.counts`, s.counts);
  let displs: number[];
  if (s.displs === undefined) {
    displs = new Array<number>(size);
    let off = 0;
    for (let i = 0; i < size; i++) (displs[i] = off), (off += counts[i]!);
  } else displs = listOf(call, me, size, `${what}.displs`, s.displs);
  let extent = 0;
  let packed = true;
  for (let i = 0; i < size; i++) {
    extent = Math.max(extent, displs[i]! + counts[i]!);
    if (displs[i] !== (i === 0 ? 0 : displs[i - 1]! + counts[i - 1]!)) packed = false;
  }
  if (receive) {
    const order = counts.map((_, i) => i).filter((i) => counts[i]! > 0).sort((a, b) => displs[a]! - displs[b]!);
    for (let k = 1; k < order.length; k++) {
      const a = order[k - 1]!, b = order[k]!;
      if (displs[a]! + counts[a]! > displs[b]!)
        throw new OrchidError('ERR_COUNT', `${call}: the blocks of rank ${a} (elements ${displs[a]}…${displs[a]! + counts[a]! - 1}) and rank ${b} (from ${displs[b]}) overlap in ${what} (called on rank ${me})`);
    }
  }
  return { counts, displs, extent, packed };
}

export function typedBuffer(call: string, me: number, v: unknown, what = 'the buffer'): TypedArray {
  if (!isTypedArray(v) || elemCode(v) === ELEM_NONE)
    throw new TypeError(`${call}: ${what} must be a TypedArray or a Buffer, got ${v === null ? 'null' : Array.isArray(v) ? 'an Array' : typeof v} (called on rank ${me})`);
  return v;
}

/**
 * The received parts (rank order) placed into one buffer of `like`'s kind at the layout's
 * displacements. Every part must be of that kind and of its count's length. When the parts
 * already lie back to back in one buffer in that order (what the transports hand back), the
 * result is a view of that buffer: no copy.
 */
export function place(call: string, me: number, parts: readonly unknown[], lay: Layout, like: TypedArray): TypedArray {
  const elem = elemCode(like);
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (elemCode(p) !== elem)
      throw new TypeError(`${call}: rank ${i} sent ${isTypedArray(p) ? `a ${p.constructor.name}` : 'a value that is not a typed array'} to rank ${me}, which expects ${like.constructor.name} elements (the kind must be the same on every rank)`);
    const n = (p as TypedArray).length;
    if (n !== lay.counts[i])
      throw new OrchidError('ERR_COUNT', `${call}: rank ${i} sent ${n} elements to rank ${me}, whose counts[${i}] is ${lay.counts[i]}`);
  }
  const typed = parts as readonly TypedArray[];
  if (lay.packed && typed.length > 0 && backToBack(typed)) return view(elem, typed[0]!.buffer, typed[0]!.byteOffset, lay.extent);
  const out = view(elem, new ArrayBuffer(lay.extent * elemCtor(elem).BYTES_PER_ELEMENT), 0, lay.extent);
  for (let i = 0; i < typed.length; i++) (out as Uint8Array).set(typed[i] as Uint8Array, lay.displs[i]);
  return out;
}

/** The parts lie one after the other in one buffer. */
function backToBack(parts: readonly TypedArray[]): boolean {
  const first = parts[0]!;
  let end = first.byteOffset;
  for (const p of parts) {
    if (p.buffer !== first.buffer || p.byteOffset !== end) return false;
    end += p.byteLength;
  }
  return true;
}

function view(elem: number, buf: ArrayBufferLike, off: number, len: number): TypedArray {
  if (elem === ELEM_BUFFER) return Buffer.from(buf, off, len);
  return new (elemCtor(elem))(buf, off, len);
}

/** The parts of `buffer` that go to each rank: element ranges by the send layout, which must lie inside it. */
export function sendParts(call: string, me: number, buffer: TypedArray, lay: Layout): TypedArray[] {
  if (lay.extent > buffer.length)
    throw new OrchidError('ERR_COUNT', `${call}: the send blocks span ${lay.extent} elements, rank ${me}'s buffer has ${buffer.length}`);
  return lay.counts.map((k, i) => buffer.subarray(lay.displs[i], lay.displs[i]! + k) as TypedArray);
}

// ---- reduceScatter ----

/** Elements of a reduceScatter operand: a TypedArray, an Array, or minloc/maxloc's { values, indices }. */
function lengthOf(call: string, me: number, v: unknown): number {
  if (isTypedArray(v) || Array.isArray(v)) return v.length;
  const values = v !== null && typeof v === 'object' ? (v as { values?: unknown }).values : undefined;
  if (isTypedArray(values)) return values.length;
  throw new TypeError(`${call}: the operand must be a TypedArray, an Array, or { values, indices } for minloc/maxloc, got ${v === null ? 'null' : typeof v} (called on rank ${me})`);
}

/**
 * Each rank's block of a reduceScatter: `counts` given (reduceScatter) or size equal blocks
 * (reduceScatterBlock). Returns [start, end] of this rank's block; throws ERR_COUNT.
 */
export function scatterBlock(call: string, me: number, size: number, value: unknown, counts: unknown): [number, number] {
  const n = lengthOf(call, me, value);
  if (counts === undefined) {
    if (n % size !== 0)
      throw new OrchidError('ERR_COUNT', `${call}: ${n} elements cannot be split into ${size} equal blocks (size × k elements are needed; called on rank ${me})`);
    const k = n / size;
    return [me * k, me * k + k];
  }
  const cs = listOf(call, me, size, 'counts', counts);
  const total = cs.reduce((a, b) => a + b, 0);
  if (total !== n) throw new OrchidError('ERR_COUNT', `${call}: counts [${cs.join(', ')}] sum to ${total}, the operand has ${n} elements (called on rank ${me})`);
  const start = cs.slice(0, me).reduce((a, b) => a + b, 0);
  return [start, start + cs[me]!];
}

/** Elements start … end-1 of a reduction's result, in a value of its own (not a view of it). */
export function sliceResult(call: string, me: number, result: unknown, [start, end]: [number, number]): unknown {
  if (isTypedArray(result) || Array.isArray(result)) return result.slice(start, end);
  const r = result as { values?: unknown; indices?: unknown } | null;
  if (r && typeof r === 'object' && isTypedArray(r.values) && isTypedArray(r.indices))
    return { values: r.values.slice(start, end), indices: r.indices.slice(start, end) };
  throw new TypeError(`${call}: the op's result is ${result === null ? 'null' : typeof result}, not a TypedArray or an Array: rank ${me} cannot take its block of it`);
}

// ---- the calls (Comm's front-ends hand them their backend) ----

/** gatherv (root only gets the buffer) and allgatherv (`all`: everyone does). */
export async function gatherv(be: CommBackend, buffer: unknown, spec: unknown, root: number, all: boolean): Promise<TypedArray | undefined> {
  const call = all ? 'allgatherv' : 'gatherv';
  const me = be.rank;
  let lay: Layout | undefined;
  const check = () => {
    if (!all) checkRoot(call, me, be.size, root);
    const buf = typedBuffer(call, me, buffer);
    // counts are read where the data lands (the root, or everyone); a non-root's own are checked if given
    if (all || me === root || spec !== undefined) {
      lay = layout(call, me, be.size, spec, all || me === root ? 'the receive spec' : 'the spec', true);
      if (lay.counts[me] !== buf.length)
        throw new OrchidError('ERR_COUNT', `${call}: rank ${me} sends ${buf.length} elements, but counts[${me}] is ${lay.counts[me]}`);
    }
  };
  const parts = await be.gather(buffer, all ? 0 : root, all, call, check);
  return parts && place(call, me, parts, lay!, buffer as TypedArray);
}

/** alltoallv: blocks of `buffer` by the send spec out, blocks in by the receive spec. */
export async function alltoallv(be: CommBackend, buffer: unknown, send: unknown, recv: unknown): Promise<TypedArray> {
  const call = 'alltoallv';
  const me = be.rank;
  let parts: TypedArray[] = [];
  let into: Layout | undefined;
  let err: unknown;
  try {
    const buf = typedBuffer(call, me, buffer);
    const out = layout(call, me, be.size, send, 'the send spec', false);
    into = layout(call, me, be.size, recv, 'the receive spec', true);
    parts = sendParts(call, me, buf, out);
  } catch (e) {
    err = e;
  }
  const got = await be.alltoall(parts, () => {
    if (err !== undefined) throw err;
  }, call);
  return place(call, me, got, into!, buffer as TypedArray);
}
