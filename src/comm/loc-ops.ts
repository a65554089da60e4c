// The location ops 'minloc' and 'maxloc' (MPI_MINLOC / MPI_MAXLOC): the smallest (largest)
// value together with its index. Two operand forms, the same kind on every rank:
//   [value, index]                    one pair: a number or bigint, and an integer
//   { values, indices }               many pairs, elementwise: a TypedArray and an Int32Array
//                                     of one length (MPI's MPI_DOUBLE_INT & co. as two arrays)
// Ties (equal values, 0 and -0 included) go to the lower index. A NaN value wins, as
// Math.min / Math.max give NaN (two NaNs: the lower index). That is a total order on
// (value, index), so the op is associative and commutative and every algorithm may use it.
import type { TypedArray } from '../codec/typed.js';
import { OrchidError } from '../errors.js';
import type { Reducer } from './ops.js';

/** Paired typed arrays for minloc / maxloc: element i is the pair (values[i], indices[i]). */
export interface LocArrays<V extends TypedArray = TypedArray> {
  values: V;
  indices: Int32Array;
}

/** A [value, index] pair for minloc / maxloc. */
export type LocPair<V extends number | bigint = number> = [value: V, index: number];

type Val = number | bigint;

/** 0: keep a's pair, 1: take b's. */
function pick(max: boolean, va: Val, ia: number, vb: Val, ib: number): 0 | 1 {
  const aNaN = va !== va, bNaN = vb !== vb; // eslint-disable-line no-self-compare
  if (aNaN || bNaN) return aNaN && bNaN ? (ib < ia ? 1 : 0) : aNaN ? 0 : 1;
  if (va == vb) return ib < ia ? 1 : 0; // eslint-disable-line eqeqeq -- 0 == -0
  return (max ? va > vb : va < vb) ? 0 : 1;
}

const isTyped = (v: unknown): v is TypedArray => ArrayBuffer.isView(v) && !(v instanceof DataView);

export class LocReducer implements Reducer {
  readonly builtin = false;
  readonly commute = true;
  constructor(
    readonly name: 'minloc' | 'maxloc',
    private readonly call: string,
  ) {}

  private bad(v: unknown, why: string): TypeError {
    const what = Array.isArray(v) ? `an Array of ${v.length}` : v === null ? 'null' : typeof v === 'object' ? (isTyped(v) ? `a ${v.constructor.name}` : 'an object') : `a ${typeof v}`;
    return new TypeError(`${this.call}: op "${this.name}" needs a [value, index] pair or { values: TypedArray, indices: Int32Array }, got ${what}${why ? ` (${why})` : ''}`);
  }

  /** The operand's form: 'pair' or 'arrays'; throws on anything else. */
  private form(v: unknown): 'pair' | 'arrays' {
    if (Array.isArray(v)) {
      if (v.length !== 2) throw this.bad(v, 'a pair has two elements');
      const [x, i] = v as unknown[];
      if (typeof x !== 'number' && typeof x !== 'bigint') throw this.bad(v, `its value is ${typeof x}, not a number or bigint`);
      if (typeof i !== 'number' || !Number.isSafeInteger(i)) throw this.bad(v, `its index ${String(i)} is not an integer`);
      return 'pair';
    }
    if (v !== null && typeof v === 'object' && !isTyped(v)) {
      const { values, indices } = v as Partial<LocArrays>;
      if (!isTyped(values)) throw this.bad(v, '`values` is not a TypedArray');
      if (!(indices instanceof Int32Array)) throw this.bad(v, '`indices` is not an Int32Array');
      if (values.length !== indices.length)
        throw new OrchidError('ERR_COUNT', `${this.call}: op "${this.name}" has ${values.length} values and ${indices.length} indices (they pair up: one length)`);
      return 'arrays';
    }
    throw this.bad(v, '');
  }

  check(value: unknown): void {
    this.form(value);
  }

  combine(a: unknown, b: unknown): unknown {
    const max = this.name === 'maxloc';
    const fa = this.form(a), fb = this.form(b);
    if (fa !== fb) throw new TypeError(`${this.call}: op "${this.name}" cannot combine a [value, index] pair with { values, indices } (operands must be of the same form on every rank)`);
    if (fa === 'pair') {
      const [va, ia] = a as LocPair<Val>, [vb, ib] = b as LocPair<Val>;
      if (typeof va !== typeof vb) throw new TypeError(`${this.call}: op "${this.name}" cannot combine a ${typeof va} value with a ${typeof vb} value`);
      return pick(max, va, ia, vb, ib) === 0 ? [va, ia] : [vb, ib];
    }
    const x = a as LocArrays, y = b as LocArrays;
    if (x.values.constructor !== y.values.constructor)
      throw new TypeError(`${this.call}: op "${this.name}" cannot combine ${x.values.constructor.name} values with ${y.values.constructor.name} values`);
    const n = x.values.length;
    if (y.values.length !== n) throw new OrchidError('ERR_COUNT', `${this.call}: op "${this.name}" operand lengths ${n} and ${y.values.length} differ`);
    const values = new (x.values.constructor as new (n: number) => TypedArray)(n);
    const indices = new Int32Array(n);
    const xv = x.values as unknown as Val[], yv = y.values as unknown as Val[], ov = values as unknown as Val[];
    for (let i = 0; i < n; i++) {
      const takeB = pick(max, xv[i]!, x.indices[i]!, yv[i]!, y.indices[i]!);
      ov[i] = takeB ? yv[i]! : xv[i]!;
      indices[i] = takeB ? y.indices[i]! : x.indices[i]!;
    }
    return { values, indices };
  }

  combineInto(): void {
    throw new TypeError(`${this.call}: combineInto is only available for the elementwise builtin ops, not for "${this.name}"`);
  }
}
