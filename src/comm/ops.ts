// Reduction operators for reduce / allreduce / scan / exscan (README.md, "Collectives", Ops).
//
// A Reducer combines two operands of the same kind: numbers, bigints, booleans (logical
// ops only), TypedArrays (elementwise, same kind and length) and Arrays of numbers or of
// bigints (elementwise, same length). Custom functions are applied as fn(a, b) with `a`
// from the lower ranks and `b` from the higher ranks.
//
// Hot path: combineInto / combine on large typed arrays, through the generated element loops
// of op-kernels.ts.

import { REDUCE_OPS, type OpFamily, type OpName } from '../codec/abi.js';
import type { TypedArray } from '../codec/typed.js';
import { OrchidError } from '../errors.js';
import { LocReducer } from './loc-ops.js';
import { CTORS, intoKernelFor, kernelFor, TAG_CLASS, typedArrayTagGetter, typedTag, type TypedTag } from './op-kernels.js';

export type { OpName };
/** A custom reduction: combines two values of the reduced value's type into one. */
export type OpFn<T = any> = (a: T, b: T) => T;
/**
 * A custom function with its commute flag: `commute: true` lets the implementation combine
 * operands in any order; `false` (the default, and what a bare function means) keeps rank order.
 */
export interface OpObject<T = any> {
  fn: OpFn<T>;
  commute?: boolean;
}
/** The location ops: on [value, index] pairs or { values, indices } (loc-ops.ts). */
export type LocOpName = 'minloc' | 'maxloc';
/** A builtin op by name, or a custom function on the reduced value's type (bare or with its commute flag). */
export type Op<T = any> = OpName | LocOpName | OpFn<T> | OpObject<T>;

export type { TypedArray };

export interface Reducer {
  /** The op name, or 'custom' for a function. */
  readonly name: string;
  /** An elementwise builtin op (combineInto works; MPI may apply it). */
  readonly builtin: boolean;
  /** Operands may be combined in any order (builtin and loc ops, `{ fn, commute: true }`); else rank order. */
  readonly commute: boolean;
  /** This rank's operand checked before any communication (TypeError / ERR_COUNT naming the call). */
  check?(value: unknown): void;
  /** a op b as a NEW value (a and b are never mutated). For custom ops: fn(a, b). */
  combine(a: unknown, b: unknown): unknown;
  /** acc = acc op x elementwise, in place. Builtin ops and typed arrays only. */
  combineInto(acc: TypedArray, x: TypedArray): void;
}

export const OP_NAMES: readonly OpName[] = Object.freeze(REDUCE_OPS.map((o) => o.name));

const opsOf = (family: OpFamily): ReadonlySet<string> => new Set(REDUCE_OPS.filter((o) => o.family === family).map((o) => o.name));
const LOGICAL = opsOf('logical');
const BITWISE = opsOf('bitwise');

// ---------------------------------------------------------------------------------------
// Scalars

function intOp(op: 'band' | 'bor' | 'bxor', a: number, b: number): number {
  if ((a | 0) === a && (b | 0) === b) {
    return op === 'band' ? a & b : op === 'bor' ? a | b : a ^ b;
  }
  const x = BigInt(a), y = BigInt(b);
  return Number(op === 'band' ? x & y : op === 'bor' ? x | y : x ^ y);
}

function numberOp(op: OpName, a: number, b: number): number {
  switch (op) {
    case 'sum': return a + b;
    case 'prod': return a * b;
    case 'min': return Math.min(a, b);
    case 'max': return Math.max(a, b);
    case 'land': return a && b ? 1 : 0;
    case 'lor': return a || b ? 1 : 0;
    case 'lxor': return !a !== !b ? 1 : 0;
    case 'band':
    case 'bor':
    case 'bxor': return intOp(op, a, b);
  }
}

function bigintOp(op: OpName, a: bigint, b: bigint): bigint {
  switch (op) {
    case 'sum': return a + b;
    case 'prod': return a * b;
    case 'min': return a < b ? a : b;
    case 'max': return a > b ? a : b;
    case 'land': return a && b ? 1n : 0n;
    case 'lor': return a || b ? 1n : 0n;
    case 'lxor': return !a !== !b ? 1n : 0n;
    case 'band': return a & b;
    case 'bor': return a | b;
    case 'bxor': return a ^ b;
  }
}

function booleanOp(op: OpName, a: boolean, b: boolean): boolean {
  // Only logical ops reach here (classify rejects the others).
  return op === 'land' ? a && b : op === 'lor' ? a || b : a !== b;
}

// ---------------------------------------------------------------------------------------
// Operand classification (validation)

/** 'number' | 'bigint' | 'boolean' | a TypedTag | 'Array<number>' | 'Array<bigint>' | 'Array<empty>' */
type Kind = 'number' | 'bigint' | 'boolean' | TypedTag | 'Array<number>' | 'Array<bigint>' | 'Array<empty>';

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  switch (typeof v) {
    case 'string': return 'a string';
    case 'number': return `a number (${String(v)})`;
    case 'bigint': return 'a bigint';
    case 'boolean': return 'a boolean';
    case 'symbol': return 'a symbol';
    case 'function': return 'a function';
  }
  if (Array.isArray(v)) return 'an Array';
  const tag = typedTag(v);
  if (tag !== undefined) return article(tag);
  const t = typedArrayTagGetter.call(v);
  if (t !== undefined) return article(t); // e.g. a Float16Array
  if (ArrayBuffer.isView(v)) return 'a DataView';
  const proto = Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null;
  const cname = proto?.constructor?.name;
  return typeof cname === 'string' && cname !== '' && cname !== 'Object' ? article(cname) : 'an object';
}

function article(name: string): string {
  return /^[AEIOU]/.test(name) ? `an ${name}` : `a ${name}`;
}

function kindLabel(k: Kind): string {
  switch (k) {
    case 'number': return 'a number';
    case 'bigint': return 'a bigint';
    case 'boolean': return 'a boolean';
    case 'Array<number>': return 'an Array of numbers';
    case 'Array<bigint>': return 'an Array of bigints';
    case 'Array<empty>': return 'an empty Array';
    default: return article(k);
  }
}

const EXPECTED = '(expected a number, bigint, TypedArray, or Array of numbers or of bigints)';

function unsupported(call: string, op: OpName, v: unknown): TypeError {
  return new TypeError(`${call}: op "${op}" cannot reduce ${describe(v)} ${EXPECTED}`);
}

function notInteger(call: string, op: OpName, what: string): TypeError {
  return new TypeError(`${call}: bitwise op "${op}" needs integer operands, got ${what}`);
}

/** Validates one operand for a builtin op and returns its kind. Throws TypeError. */
function classify(v: unknown, op: OpName, call: string): Kind {
  switch (typeof v) {
    case 'number':
      if (BITWISE.has(op) && !Number.isSafeInteger(v)) {
        throw notInteger(call, op, Number.isInteger(v) ? `an integer beyond 2^53 (${v})` : `a float (${v})`);
      }
      return 'number';
    case 'bigint':
      return 'bigint';
    case 'boolean':
      if (!LOGICAL.has(op)) {
        throw new TypeError(`${call}: op "${op}" cannot reduce booleans (only land|lor|lxor apply to booleans)`);
      }
      return 'boolean';
    case 'object':
      break;
    default:
      throw unsupported(call, op, v);
  }
  if (v === null) throw unsupported(call, op, v);
  const tag = typedTag(v);
  if (tag !== undefined) {
    if (BITWISE.has(op) && TAG_CLASS[tag] === 'float') {
      throw notInteger(call, op, `a ${tag}`);
    }
    return tag;
  }
  if (Array.isArray(v)) return classifyArray(v, op, call);
  throw unsupported(call, op, v);
}

function classifyArray(v: readonly unknown[], op: OpName, call: string): Kind {
  const n = v.length;
  if (n === 0) return 'Array<empty>';
  const first = v[0];
  if (typeof first === 'number') {
    const bitwise = BITWISE.has(op);
    for (let i = 0; i < n; i++) {
      const x = v[i];
      if (typeof x !== 'number') throw badElement(call, op, x, i, 'numbers');
      if (bitwise && !Number.isSafeInteger(x)) {
        throw notInteger(call, op, `an Array containing ${Number.isInteger(x) ? 'an integer beyond 2^53' : 'a float'} (${x}) at index ${i}`);
      }
    }
    return 'Array<number>';
  }
  if (typeof first === 'bigint') {
    for (let i = 0; i < n; i++) {
      const x = v[i];
      if (typeof x !== 'bigint') throw badElement(call, op, x, i, 'bigints');
    }
    return 'Array<bigint>';
  }
  throw badElement(call, op, first, 0, undefined);
}

function badElement(call: string, op: OpName, x: unknown, i: number, of: 'numbers' | 'bigints' | undefined): TypeError {
  const what = of === undefined
    ? `an Array containing ${describe(x)} at index ${i}`
    : `an Array of ${of} containing ${describe(x)} at index ${i}`;
  return new TypeError(`${call}: op "${op}" cannot reduce ${what} ${EXPECTED}`);
}

function lengthError(call: string, op: string, na: number, nb: number): OrchidError {
  return new OrchidError('ERR_COUNT', `${call}: op "${op}" operand lengths ${na} and ${nb} differ`);
}

function allocLike(a: TypedArray, tag: TypedTag, n: number): TypedArray {
  // A Buffer result stays a Buffer (Buffer.alloc never hands out a pooled slab).
  if (tag === 'Uint8Array' && Buffer.isBuffer(a)) return Buffer.alloc(n);
  return new CTORS[tag](n);
}

// ---------------------------------------------------------------------------------------
// Reducers

class BuiltinReducer implements Reducer {
  readonly builtin = true;
  readonly commute = true;
  constructor(readonly name: OpName, private readonly call: string) {}

  combine(a: unknown, b: unknown): unknown {
    const op = this.name, call = this.call;
    // Fast path: both typed arrays of the same kind.
    const ta = typedTag(a);
    if (ta !== undefined && ta === typedTag(b)) {
      const x = a as TypedArray, y = b as TypedArray;
      if (BITWISE.has(op) && TAG_CLASS[ta] === 'float') throw notInteger(call, op, `a ${ta}`);
      const n = x.length;
      if (y.length !== n) throw lengthError(call, op, n, y.length);
      const out = allocLike(x, ta, n);
      kernelFor(op, ta, TAG_CLASS[ta])(out, x, y, n);
      return out;
    }
    const ka = classify(a, op, call);
    const kb = classify(b, op, call);
    if (ka !== kb) return this.mismatch(a, b, ka, kb);
    switch (ka) {
      case 'number': return numberOp(op, a as number, b as number);
      case 'bigint': return bigintOp(op, a as bigint, b as bigint);
      case 'boolean': return booleanOp(op, a as boolean, b as boolean);
      case 'Array<empty>': return [];
      case 'Array<number>':
      case 'Array<bigint>': {
        const x = a as unknown[], y = b as unknown[];
        const n = x.length;
        if (y.length !== n) throw lengthError(call, op, n, y.length);
        const out = new Array<unknown>(n);
        kernelFor(op, ka, ka === 'Array<number>' ? 'num' : 'big')(out, x, y, n);
        return out;
      }
      default:
        // Unreachable: equal typed kinds take the fast path above.
        throw new TypeError(`${call}: op "${op}" cannot reduce ${kindLabel(ka)}`);
    }
  }

  private mismatch(a: unknown, b: unknown, ka: Kind, kb: Kind): never {
    const call = this.call, op = this.name;
    const aArr = ka.startsWith('Array<'), bArr = kb.startsWith('Array<');
    if (aArr && bArr) {
      const na = (a as unknown[]).length, nb = (b as unknown[]).length;
      // An empty Array pairs with either element type; only the lengths disagree.
      if (ka === 'Array<empty>' || kb === 'Array<empty>') throw lengthError(call, op, na, nb);
    }
    throw new TypeError(`${call}: op "${op}" cannot combine ${kindLabel(ka)} with ${kindLabel(kb)} (operands must be of the same kind on every rank)`);
  }

  combineInto(acc: TypedArray, x: TypedArray): void {
    const op = this.name, call = this.call;
    const tag = typedTag(acc);
    if (tag === undefined) throw new TypeError(`${call}: op "${op}" combineInto needs typed arrays, got ${describe(acc)}`);
    const tx = typedTag(x);
    if (tx !== tag) {
      throw new TypeError(`${call}: op "${op}" cannot combine ${article(tag)} with ${tx === undefined ? describe(x) : article(tx)}`);
    }
    const cls = TAG_CLASS[tag];
    if (cls === 'float' && BITWISE.has(op)) throw notInteger(call, op, `a ${tag}`);
    const n = acc.length;
    if (x.length !== n) throw lengthError(call, op, n, x.length);
    intoKernelFor(op, tag, cls)(acc, x, n);
  }
}

class CustomReducer implements Reducer {
  readonly name: string;
  readonly builtin = false;
  constructor(
    private readonly fn: OpFn,
    private readonly call: string,
    readonly commute: boolean,
  ) {
    // the signature tells the two apart: ws's reduce builds a different tree for each
    this.name = commute ? 'custom-commute' : 'custom';
  }

  combine(a: unknown, b: unknown): unknown {
    return this.fn(a, b);
  }

  combineInto(_acc: TypedArray, _x: TypedArray): void {
    throw new TypeError(`${this.call}: combineInto is only available for builtin ops, not for a custom function`);
  }
}

function describeOp(op: unknown): string {
  if (typeof op === 'string') return JSON.stringify(op);
  if (typeof op === 'symbol') return `"${op.toString()}"`;
  if (op === null || typeof op !== 'object') return `"${String(op)}"`;
  return `"${Array.isArray(op) ? 'an Array' : describe(op)}"`;
}

const isOpName = (op: unknown): op is OpName =>
  typeof op === 'string' && (OP_NAMES as readonly string[]).includes(op);

/**
 * The Reducer for `op` (an op name, a function, or `{ fn, commute }`). Unknown names and
 * anything else are a TypeError naming `call`.
 */
export function reducer(op: unknown, call: string): Reducer {
  if (typeof op === 'function') return new CustomReducer(op as OpFn, call, false);
  if (isOpName(op)) return new BuiltinReducer(op, call);
  if (op === 'minloc' || op === 'maxloc') return new LocReducer(op, call);
  if (op !== null && typeof op === 'object' && !Array.isArray(op) && typeof (op as OpObject).fn === 'function') {
    const commute = (op as OpObject).commute ?? false;
    if (typeof commute !== 'boolean') throw new TypeError(`${call}: the op's commute flag must be a boolean, got ${describe(commute)}`);
    return new CustomReducer((op as OpObject).fn, call, commute);
  }
  throw new TypeError(`${call}: unknown reduction op ${describeOp(op)} (expected ${OP_NAMES.join('|')}|minloc|maxloc, a function or { fn, commute })`);
}

/**
 * Local validation of this rank's operand, before any communication: a builtin op on an
 * unsupported operand, or a bitwise op on a float, is a TypeError naming `call` and the op.
 * Custom functions accept any value.
 */
export function checkOperand(r: Reducer, value: unknown, call: string): void {
  if (r.check) return r.check(value);
  if (!r.builtin) return;
  if (!isOpName(r.name)) throw new TypeError(`${call}: unknown reduction op ${describeOp(r.name)}`);
  classify(value, r.name, call);
}
