// The numbers JS, the native addon and other ranks must agree on, written once: element
// kinds (the code of a typed array in a frame header, on either transport, and the MPI
// datatype the addon moves and reduces it as), reduction op codes, and the block of the
// addon's small allreduce. codec/typed.ts, comm/ops.ts and the mpi backend derive their
// tables from here; native/abi.h is the addon's side, and the addon reports its view at
// load (its `abi()` export), which transport/mpi/addon.ts compares with `abiView()` below:
// a mismatch is a load error that names both views.

/**
 * Element kinds, by code. `c` is the element type the addon moves and reduces them as (its
 * MPI datatype: MPI_INT8_T … MPI_DOUBLE); `numeric` (int, float, bigint) decides which ops
 * apply and which JS loops reduce them; `mpiReduces`: MPI's builtin ops and the addon's
 * small-allreduce combiner reduce them (a Uint8ClampedArray's clamping and a Buffer's kind
 * are kept by reducing in JS).
 */
export const ELEMENT_KINDS = Object.freeze([
  { code: 1, name: 'Int8Array', ctor: Int8Array, c: 'int8_t', numeric: 'int', mpiReduces: true },
  { code: 2, name: 'Uint8Array', ctor: Uint8Array, c: 'uint8_t', numeric: 'int', mpiReduces: true },
  { code: 3, name: 'Uint8ClampedArray', ctor: Uint8ClampedArray, c: 'uint8_t', numeric: 'int', mpiReduces: false },
  { code: 4, name: 'Int16Array', ctor: Int16Array, c: 'int16_t', numeric: 'int', mpiReduces: true },
  { code: 5, name: 'Uint16Array', ctor: Uint16Array, c: 'uint16_t', numeric: 'int', mpiReduces: true },
  { code: 6, name: 'Int32Array', ctor: Int32Array, c: 'int32_t', numeric: 'int', mpiReduces: true },
  { code: 7, name: 'Uint32Array', ctor: Uint32Array, c: 'uint32_t', numeric: 'int', mpiReduces: true },
  { code: 8, name: 'Float32Array', ctor: Float32Array, c: 'float', numeric: 'float', mpiReduces: true },
  { code: 9, name: 'Float64Array', ctor: Float64Array, c: 'double', numeric: 'float', mpiReduces: true },
  { code: 10, name: 'BigInt64Array', ctor: BigInt64Array, c: 'int64_t', numeric: 'bigint', mpiReduces: true },
  { code: 11, name: 'BigUint64Array', ctor: BigUint64Array, c: 'uint64_t', numeric: 'bigint', mpiReduces: true },
  { code: 12, name: 'Buffer', ctor: Buffer, c: 'uint8_t', numeric: 'int', mpiReduces: false },
] as const);

export type ElementKind = (typeof ELEMENT_KINDS)[number];
export type ElementName = ElementKind['name'];
/** Bytes per element (Buffer's typings lack the BYTES_PER_ELEMENT it inherits from Uint8Array). */
export const elementBytes = (k: ElementKind): number => (k.ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;

/** Code 0: not a typed array (msgpack bytes). */
export const ELEM_NONE = 0;
/** Element code of each kind by name: ELEM.Float64Array === 9. */
export const ELEM = Object.freeze(Object.fromEntries(ELEMENT_KINDS.map((k) => [k.name, k.code]))) as { readonly [N in ElementName]: Extract<ElementKind, { name: N }>['code'] };
/** Node's Buffer: a Uint8Array that arrives as a Buffer. */
export const ELEM_BUFFER = ELEM.Buffer;
/** The addon's datatype for plain bytes (MPI_BYTE): msgpack values, headers of mixed parts. Never in a frame. */
export const MPI_BYTES = 100;

/**
 * Reduction ops; an op's code is its index. MPI defines the arithmetic ones on every numeric
 * type, the logical and bitwise ones on integers only.
 */
export const REDUCE_OPS = Object.freeze([
  { name: 'sum', family: 'arithmetic' },
  { name: 'prod', family: 'arithmetic' },
  { name: 'min', family: 'arithmetic' },
  { name: 'max', family: 'arithmetic' },
  { name: 'land', family: 'logical' },
  { name: 'lor', family: 'logical' },
  { name: 'lxor', family: 'logical' },
  { name: 'band', family: 'bitwise' },
  { name: 'bor', family: 'bitwise' },
  { name: 'bxor', family: 'bitwise' },
] as const);

export type OpName = (typeof REDUCE_OPS)[number]['name'];
export type OpFamily = (typeof REDUCE_OPS)[number]['family'];
/** Op code by name: OP.max === 3. */
export const OP = Object.freeze(Object.fromEntries(REDUCE_OPS.map((o, code) => [o.name, code]))) as { readonly [N in OpName]: number };

/**
 * The agreement block (native/small_reduce.h): what every collective on the mpi transport
 * starts with, one MPI_Iallreduce with a user-defined op. A header of float64 fields,
 * combined with MAX, tells every rank whether the calls agreed (the signature, with the rank
 * in the low bits so a mismatch names one: sigHi = sig * 2^21 + rank, sigLo = -sig * 2^21 +
 * rank), whether the typed-array lengths, element kinds and ops agreed, and whether a local
 * check failed (error = code * 2^21 + rank). Up to `dataBytes` of elements follow, combined
 * with the op when everything agreed: a small allreduce (a number, a typed array of at most
 * 128 bytes) is done in that same call.
 */
export const SMALL_REDUCE = Object.freeze({
  headerBytes: 72,
  dataBytes: 128,
  fields: Object.freeze(['sigHi', 'sigLo', 'len', 'negLen', 'error', 'kind', 'negKind', 'op', 'negOp'] as const),
});
export type SmallReduceField = (typeof SMALL_REDUCE.fields)[number];
/** Index of each header field in the block's Float64Array view: SR.error === 4. */
export const SR = Object.freeze(Object.fromEntries(SMALL_REDUCE.fields.map((f, i) => [f, i]))) as { readonly [F in SmallReduceField]: number };
/** the rank's place in sigHi, sigLo and error: a rank number is below this */
export const SR_RANKS = 2 ** 21;
export const SR_BLOCK = SMALL_REDUCE.headerBytes + SMALL_REDUCE.dataBytes;

/** What the addon's `abi()` export reports, and what this table says it must. */
export interface AbiView {
  elements: { code: number; c: string; bytes: number; mpiReduces: boolean }[];
  bytes: number;
  ops: string[];
  smallReduce: { headerBytes: number; dataBytes: number; fields: string[] };
}

/** This table in the shape of the addon's report. */
export function abiView(): AbiView {
  return {
    elements: ELEMENT_KINDS.map((k) => ({ code: k.code, c: k.c, bytes: elementBytes(k), mpiReduces: k.mpiReduces })),
    bytes: MPI_BYTES,
    ops: REDUCE_OPS.map((o) => o.name),
    smallReduce: { headerBytes: SMALL_REDUCE.headerBytes, dataBytes: SMALL_REDUCE.dataBytes, fields: [...SMALL_REDUCE.fields] },
  };
}
