// The buffer side of the mpi backend: reductions that MPI's own ops do on the caller's memory
// (a number as one double; a typed array handed over by pointer, after the ranks agree on its
// length and type). Everything else (custom functions, arrays, bigints) reduces in JS on
// gathered values (mpi.ts).
import { ELEM_BUFFER, elemCode, elemCtor, type TypedArray } from '../../codec/index.js';
import { OrchidError } from '../../errors.js';
import type { ReduceCall } from '../comm-backend.js';
import type { Reducer } from '../ops.js';
import { ELEM, ELEMENT_KINDS, OP, REDUCE_OPS, SMALL_REDUCE, SR, SR_BLOCK } from '../../codec/abi.js';
import { F64, I32, LARGE_YIELD, OPS, type MpiColl } from './mpi-coll.js';

/** element kinds MPI reduces natively (Uint8ClampedArray and Buffer reduce in JS) */
const MPI_REDUCIBLE = new Set<number>(ELEMENT_KINDS.filter((k) => k.mpiReduces).map((k) => k.code));
const FLOAT = new Set<number>(ELEMENT_KINDS.filter((k) => k.numeric === 'float').map((k) => k.code));
/** ops MPI applies to floating types (and to a number, as a double) */
const ON_FLOATS = new Set(REDUCE_OPS.flatMap((o, code) => (o.family === 'arithmetic' ? [code] : [])));
const SR_HDR = SMALL_REDUCE.headerBytes;
const SR_DATA = SMALL_REDUCE.dataBytes;
/** ORCHID_MPI_SMALL_ALLREDUCE=0: small typed allreduce as agreement round + MPI's builtin op */
const SMALL_ALLREDUCE = process.env.ORCHID_MPI_SMALL_ALLREDUCE !== '0';

/** `agreed`: the agreement step (mpi-agree.ts) already compared the calls, lengths and checks */
type Reduction = (c: MpiColl, root: number, check: () => void, agreed: boolean) => Promise<unknown>;

/** How MPI's own ops reduce `value` with `r`, or undefined when they cannot (then JS does). */
export function mpiReduction(kind: ReduceCall, value: unknown, r: Reducer): Reduction | undefined {
  const op = OPS.indexOf(r.name);
  const arith = ON_FLOATS.has(op);
  // numbers with sum/prod/min/max: one MPI call on one double, nothing else
  if (typeof value === 'number' && arith) return (c, root, check) => reduceNumber(c, kind, value, op, root, check);
  // a Buffer reduces as the Uint8Array it is (so a Buffer on one rank and a Uint8Array on
  // another take the same path), and comes back as a Buffer
  const own = elemCode(value);
  const elem = own === ELEM_BUFFER ? ELEM.Uint8Array : own;
  if (op >= 0 && MPI_REDUCIBLE.has(elem) && (arith || !FLOAT.has(elem)))
    return async (c, root, check, agreed) => {
      const out = await typedReduce(c, kind, value as TypedArray, elem, op, root, check, agreed);
      return own === ELEM_BUFFER && out ? Buffer.from(out.buffer, out.byteOffset, out.byteLength) : out;
    };
  return undefined;
}

async function reduceNumber(c: MpiColl, kind: ReduceCall, value: number, op: number, root: number, check: () => void): Promise<unknown> {
  check();
  const s = new Float64Array([value]);
  const out = new Float64Array(1);
  if (kind === 'reduce') await c.coll('reduce', s, out, 1, F64, op, root);
  else await c.coll(kind, s, out, 1, F64, op);
  if (kind === 'exscan' && c.rank === 0) return undefined;
  if (kind === 'reduce' && c.rank !== root) return undefined;
  return out[0];
}

/** Typed arrays with a builtin op: agree on length and kind (MAX of [len, -len, elem, -elem, err]), then MPI reduces. */
async function typedReduce(c: MpiColl, kind: ReduceCall, v: TypedArray, elem: number, op: number, root: number, check: () => void, agreed: boolean): Promise<TypedArray | undefined> {
  let err: unknown;
  try {
    check();
  } catch (e) {
    err = e;
  }
  const len = v.length;
  // small allreduce: the length agreement travels in the same MPI call (a user-defined MPI_Op)
  // (once agreed, a builtin MPI_Allreduce follows instead)
  if (!agreed && kind === 'allreduce' && v.byteLength <= SR_DATA && SMALL_ALLREDUCE) {
    const block = new Uint8Array(SR_BLOCK);
    const h = new Int32Array(block.buffer, 0, SMALL_REDUCE.fields.length);
    [h[SR.len], h[SR.negLen], h[SR.kind], h[SR.negKind], h[SR.op], h[SR.error], h[SR.negOp]] = [len, -len, elem, -elem, op, err ? 1 : 0, -op];
    block.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), SR_HDR);
    const got = new Uint8Array(SR_BLOCK);
    await c.coll('smallAllreduce', block, got);
    if (err) throw err;
    const g = new Int32Array(got.buffer, 0, SMALL_REDUCE.fields.length);
    if (g[SR.error]) throw new TypeError(`${kind}: another rank's operand was rejected, so the ${kind} fails on rank ${c.rank} too`);
    const sameKind = g[SR.kind] === -g[SR.negKind]!;
    const sameOp = g[SR.op] === -g[SR.negOp]!;
    if (g[SR.len] !== -g[SR.negLen]! || !sameKind || !sameOp)
      throw new OrchidError('ERR_COUNT', `${kind}: the typed arrays differ in ${!sameKind ? 'element type' : !sameOp ? 'op' : `length (${-g[SR.negLen]!} … ${g[SR.len]} elements)`} across ranks (rank ${c.rank} has ${len})`);
    const C = elemCtor(elem);
    const out = new C(len) as TypedArray;
    new Uint8Array(out.buffer).set(got.subarray(SR_HDR, SR_HDR + v.byteLength));
    return out;
  }
  if (!agreed) {
    const hdr = Int32Array.from([len, -len, elem, -elem, err ? 1 : 0]);
    const got = new Int32Array(5);
    await c.coll('allreduce', hdr, got, 5, I32, OP.max);
    if (err) throw err;
    if (got[4]) throw new TypeError(`${kind}: another rank's operand was rejected, so the ${kind} fails on rank ${c.rank} too`);
    if (got[0] !== -got[1]! || got[2] !== -got[3]!)
      throw new OrchidError('ERR_COUNT', `${kind}: the typed arrays differ in ${got[2] !== -got[3]! ? 'element type' : `length (${-got[1]!} … ${got[0]} elements)`} across ranks (rank ${c.rank} has ${len})`);
  } else if (err) throw err;
  const C = elemCtor(elem);
  const gets = kind !== 'reduce' || c.rank === root;
  // a large result goes into recycled memory from the addon's pool (MPI writes all of it):
  // a fresh 8 MB array costs ~2000 page faults while MPI fills it (8 MB allreduce 4.6-5.8 ms
  // -> ~3 ms when the memory is reused); it resolves through the event loop, where node
  // returns dropped ones to the pool
  const bytes = len * C.BYTES_PER_ELEMENT;
  const pooled = gets && bytes >= LARGE_YIELD && !(kind === 'exscan' && c.rank === 0);
  const out = gets ? new C(pooled ? c.alloc(bytes) : new ArrayBuffer(bytes), 0, len) : null;
  if (kind === 'reduce') await c.coll('reduce', v, out, len, elem, op, root);
  else await c.coll(kind, v, out!, len, elem, op);
  if (pooled) await new Promise(setImmediate);
  if (kind === 'exscan' && c.rank === 0) return undefined;
  return (out as TypedArray | null) ?? undefined;
}
