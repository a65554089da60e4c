// The buffer side of the mpi backend: reductions that MPI's own ops do on the caller's memory
// (a number as one double; a typed array handed over by pointer, after the ranks agree on its
// length and type in the agreement block, which also carries a small allreduce whole).
// Everything else (custom functions, arrays, bigints) reduces in JS on
// gathered values (mpi.ts).
import { ELEM_BUFFER, elemCode, elemCtor, type TypedArray } from '../../codec/index.js';
import type { ReduceCall } from '../comm-backend.js';
import type { Reducer } from '../ops.js';
import { ELEM, ELEMENT_KINDS, REDUCE_OPS } from '../../codec/abi.js';
import { agree, BLOCK_DATA, CHECK, tryCheck } from './mpi-agree.js';
import { F64, LARGE_YIELD, OPS, type MpiColl } from './mpi-coll.js';

/** element kinds MPI reduces natively (Uint8ClampedArray and Buffer reduce in JS) */
const MPI_REDUCIBLE = new Set<number>(ELEMENT_KINDS.filter((k) => k.mpiReduces).map((k) => k.code));
const FLOAT = new Set<number>(ELEMENT_KINDS.filter((k) => k.numeric === 'float').map((k) => k.code));
/** ops MPI applies to floating types (and to a number, as a double) */
const ON_FLOATS = new Set(REDUCE_OPS.flatMap((o, code) => (o.family === 'arithmetic' ? [code] : [])));

/**
 * `sig`: the call's signature for the agreement block (0 with ORCHID_CHECK=0); `check`: the
 * call's local checks (they fail the call on every rank through the block).
 */
type Reduction = (c: MpiColl, sig: number, root: number, check: () => void, seq: number, call: string) => Promise<unknown>;

/** How MPI's own ops reduce `value` with `r`, or undefined when they cannot (then JS does). */
export function mpiReduction(kind: ReduceCall, value: unknown, r: Reducer): Reduction | undefined {
  const op = OPS.indexOf(r.name);
  const arith = ON_FLOATS.has(op);
  // numbers with sum/prod/min/max: one double
  if (typeof value === 'number' && arith) return (c, sig, root, check, seq, call) => reduceNumber(c, kind, value, op, sig, root, check, seq, call);
  // a Buffer reduces as the Uint8Array it is (so a Buffer on one rank and a Uint8Array on
  // another take the same path), and comes back as a Buffer
  const own = elemCode(value);
  const elem = own === ELEM_BUFFER ? ELEM.Uint8Array : own;
  if (op >= 0 && MPI_REDUCIBLE.has(elem) && (arith || !FLOAT.has(elem)))
    return async (c, sig, root, check, seq, call) => {
      const out = await typedReduce(c, kind, value as TypedArray, elem, op, sig, root, check, seq, call);
      return own === ELEM_BUFFER && out ? Buffer.from(out.buffer, out.byteOffset, out.byteLength) : out;
    };
  return undefined;
}

async function reduceNumber(c: MpiColl, kind: ReduceCall, value: number, op: number, sig: number, root: number, check: () => void, seq: number, call: string): Promise<unknown> {
  if (CHECK) {
    // allreduce: agreed and reduced in one call
    const got = await agree(c, call, sig, tryCheck(check), { len: 1, elem: F64, op, value: kind === 'allreduce' ? value : undefined }, seq);
    if (kind === 'allreduce') return got;
  } else check();
  const s = new Float64Array([value]);
  const out = new Float64Array(1);
  if (kind === 'reduce') await c.coll('reduce', s, out, 1, F64, op, root);
  else await c.coll(kind, s, out, 1, F64, op);
  if (kind === 'exscan' && c.rank === 0) return undefined;
  if (kind === 'reduce' && c.rank !== root) return undefined;
  return out[0];
}

/**
 * Typed arrays with a builtin op: the agreement block compares length, kind and op (and the
 * signature); an allreduce of at most BLOCK_DATA bytes is reduced in that same call, anything
 * larger by MPI's builtin op on the caller's memory afterwards.
 */
async function typedReduce(c: MpiColl, kind: ReduceCall, v: TypedArray, elem: number, op: number, sig: number, root: number, check: () => void, seq: number, call: string): Promise<TypedArray | undefined> {
  const len = v.length;
  const small = kind === 'allreduce' && v.byteLength <= BLOCK_DATA;
  // a Buffer goes as the Uint8Array it is (mpiReduction turns the result back into a Buffer)
  const data = small ? (elemCode(v) === ELEM_BUFFER ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : v) : undefined;
  const got = (await agree(c, call, sig, tryCheck(check), { len, elem, op, data }, seq)) as TypedArray | undefined;
  if (got) return got;
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
