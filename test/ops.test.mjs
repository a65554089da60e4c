// Tests for src/comm/ops.ts (reduction operators). Run after `npx tsc -p .`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reducer, checkOperand } from '../dist/comm/ops.js';
import { isTypedArray } from '../dist/codec/typed.js';

const OPS = ['sum', 'prod', 'min', 'max', 'land', 'lor', 'lxor', 'band', 'bor', 'bxor'];
const LOGICAL = new Set(['land', 'lor', 'lxor']);
const BITWISE = new Set(['band', 'bor', 'bxor']);

// ---- independent reference semantics ------------------------------------------------

/** Exact bigint result of a numeric/bitwise op (for integer kinds). */
function exactBig(op, x, y) {
  switch (op) {
    case 'sum': return x + y;
    case 'prod': return x * y;
    case 'band': return x & y;
    case 'bor': return x | y;
    case 'bxor': return x ^ y;
  }
  throw new Error(op);
}

function refLogical(op, x, y, one, zero) {
  const p = Boolean(x), q = Boolean(y);
  const r = op === 'land' ? p && q : op === 'lor' ? p || q : p !== q;
  return r ? one : zero;
}

/** Reference for plain numbers (scalars and Arrays of numbers). */
function refNumber(op, x, y) {
  switch (op) {
    case 'sum': return x + y;
    case 'prod': return x * y;
    case 'min': return Math.min(x, y);
    case 'max': return Math.max(x, y);
    case 'land': case 'lor': case 'lxor': return refLogical(op, x, y, 1, 0);
    default: return Number(exactBig(op, BigInt(x), BigInt(y)));
  }
}

function refBigint(op, x, y) {
  switch (op) {
    case 'min': return x < y ? x : y;
    case 'max': return x > y ? x : y;
    case 'land': case 'lor': case 'lxor': return refLogical(op, x, y, 1n, 0n);
    default: return exactBig(op, x, y);
  }
}

/** Reference element value for a typed-array kind, before the store into the array. */
function refElement(op, x, y, Ctor) {
  if (Ctor === BigInt64Array || Ctor === BigUint64Array) return refBigint(op, x, y);
  if (Ctor === Float32Array || Ctor === Float64Array) return refNumber(op, x, y);
  switch (op) {
    case 'min': return Math.min(x, y);
    case 'max': return Math.max(x, y);
    case 'land': case 'lor': case 'lxor': return refLogical(op, x, y, 1, 0);
  }
  if (Ctor === Uint8ClampedArray && (op === 'sum' || op === 'prod')) return refNumber(op, x, y); // clamps on store
  // Wrap to the low 32 bits exactly (a double product can exceed 2^53); the store then
  // keeps the array type's own low bits.
  return Number(BigInt.asIntN(32, exactBig(op, BigInt(x), BigInt(y))));
}

function refTyped(op, a, b, Ctor) {
  const out = new Ctor(a.length);
  for (let i = 0; i < a.length; i++) out[i] = refElement(op, a[i], b[i], Ctor);
  return out;
}

/** Same constructor, same length, every element Object.is-equal (NaN and -0 aware). */
function assertSameTyped(actual, expected, msg) {
  assert.equal(Object.getPrototypeOf(actual), Object.getPrototypeOf(expected), `${msg}: kind`);
  assert.equal(actual.length, expected.length, `${msg}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Object.is(actual[i], expected[i]), `${msg}: [${i}] is ${actual[i]}, expected ${expected[i]}`);
  }
}

function assertSameArray(actual, expected, msg) {
  assert.ok(Array.isArray(actual), `${msg}: an Array`);
  assert.equal(actual.length, expected.length, `${msg}: length`);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Object.is(actual[i], expected[i]), `${msg}: [${i}] is ${actual[i]}, expected ${expected[i]}`);
  }
}

// ---- operand samples ---------------------------------------------------------------------

const TYPED = [
  [Int8Array, [1, -2, 0, 127, -128, 5, -7], [3, 4, 0, 1, -1, 0, 6]],
  [Uint8Array, [1, 2, 0, 255, 200, 5, 12], [3, 4, 0, 1, 100, 0, 10]],
  [Uint8ClampedArray, [1, 2, 0, 255, 200, 5, 12], [3, 4, 0, 1, 100, 0, 10]],
  [Int16Array, [1, -2, 0, 32767, -300, 5, -7], [3, 4, 0, 1, 300, 0, 6]],
  [Uint16Array, [1, 2, 0, 65535, 60000, 5, 12], [3, 4, 0, 1, 10000, 0, 10]],
  [Int32Array, [1, -2, 0, 2147483647, -123456789, 5, -2147483648], [3, 4, 0, 1, 987654, 0, -1]],
  [Uint32Array, [1, 2, 0, 4294967295, 3000000000, 5, 12], [3, 4, 0, 1, 3000000000, 0, 10]],
  [Float32Array, [1.5, -2, 0, -0, NaN, 5, Infinity], [3, 4.25, -0, 0, 1, 0, -1]],
  [Float64Array, [1.5, -2, 0, -0, NaN, 5, 1e308], [3, 4.25, -0, 0, 1, NaN, 1e308]],
  [BigInt64Array, [1n, -2n, 0n, 2n ** 63n - 1n, -5n, 5n, -(2n ** 63n)], [3n, 4n, 0n, 1n, 7n, 0n, -1n]],
  [BigUint64Array, [1n, 2n, 0n, 2n ** 64n - 1n, 5n, 5n, 2n ** 63n], [3n, 4n, 0n, 1n, 7n, 0n, 3n]],
];

const isFloatKind = (Ctor) => Ctor === Float32Array || Ctor === Float64Array;

const NUMBER_PAIRS_INT = [
  [6, 3], [-6, 3], [0, 5], [0, 0], [12, 10], [2 ** 40, 1], [-1, 2 ** 40], [2 ** 53 - 1, -(2 ** 53 - 1)],
  [2 ** 31, 2 ** 31 - 1], [-(2 ** 31), -1],
];
const NUMBER_PAIRS_FLOAT = [[1.5, 2.25], [NaN, 1], [1, NaN], [0, -0], [-0, 0], [Infinity, -Infinity], [0.1, 0.2]];
const BIGINT_PAIRS = [[6n, 3n], [-6n, 3n], [0n, 5n], [0n, 0n], [2n ** 100n, 3n], [-(2n ** 70n), 2n ** 69n]];
const BOOL_PAIRS = [[true, true], [true, false], [false, true], [false, false]];

const NUM_ARR_INT = [[1, -2, 0, 2 ** 40, 3, 5, -(2 ** 33)], [3, 4, 0, 2 ** 41 + 1, -7, 0, 12345]];
const NUM_ARR_FLOAT = [[1.5, -2, 0, NaN, 0, -0, 0.1], [3, 4.25, 0, 1, -0, 0, 0.2]];
const BIG_ARR = [[1n, -2n, 0n, 2n ** 80n, 3n, 5n], [3n, 4n, 0n, 2n ** 81n + 1n, -7n, 0n]];

// ---- every op × every operand kind -----------------------------------------------------

for (const op of OPS) {
  test(`${op}: numbers`, () => {
    const r = reducer(op, 'allreduce');
    assert.equal(r.name, op);
    assert.equal(r.builtin, true);
    for (const [x, y] of NUMBER_PAIRS_INT) {
      const got = r.combine(x, y);
      assert.ok(Object.is(got, refNumber(op, x, y)), `${op}(${x}, ${y}) = ${got}`);
      assert.equal(typeof got, 'number');
    }
    for (const [x, y] of NUMBER_PAIRS_FLOAT) {
      if (BITWISE.has(op) && !(Number.isSafeInteger(x) && Number.isSafeInteger(y))) { // ±0 are integers
        assert.throws(() => r.combine(x, y), (e) => e instanceof TypeError && e.message.startsWith('allreduce: ') && e.message.includes(`"${op}"`));
      } else {
        const got = r.combine(x, y);
        assert.ok(Object.is(got, refNumber(op, x, y)), `${op}(${x}, ${y}) = ${got}`);
      }
    }
  });

  test(`${op}: bigints`, () => {
    const r = reducer(op, 'allreduce');
    for (const [x, y] of BIGINT_PAIRS) {
      const got = r.combine(x, y);
      assert.equal(typeof got, 'bigint');
      assert.equal(got, refBigint(op, x, y), `${op}(${x}, ${y})`);
    }
  });

  test(`${op}: booleans`, () => {
    const r = reducer(op, 'scan');
    for (const [x, y] of BOOL_PAIRS) {
      if (LOGICAL.has(op)) {
        const want = op === 'land' ? x && y : op === 'lor' ? x || y : x !== y;
        assert.equal(r.combine(x, y), want, `${op}(${x}, ${y})`);
      } else {
        assert.throws(() => r.combine(x, y), (e) => e instanceof TypeError && /^scan: op "\w+" cannot reduce booleans/.test(e.message));
      }
    }
  });

  for (const [Ctor, av, bv] of TYPED) {
    test(`${op}: ${Ctor.name}`, () => {
      const r = reducer(op, 'allreduce');
      const a = Ctor.from(av), b = Ctor.from(bv);
      const a0 = a.slice(), b0 = b.slice();
      if (BITWISE.has(op) && isFloatKind(Ctor)) {
        const isBitwiseErr = (e) => e instanceof TypeError && e.message.startsWith('allreduce: ') && e.message.includes(`"${op}"`) && e.message.includes(Ctor.name);
        assert.throws(() => r.combine(a, b), isBitwiseErr);
        assert.throws(() => r.combineInto(a, b), isBitwiseErr);
        assert.throws(() => checkOperand(r, a, 'allreduce'), isBitwiseErr);
        return;
      }
      const want = refTyped(op, a, b, Ctor);
      const got = r.combine(a, b);
      assertSameTyped(got, want, `combine ${op} ${Ctor.name}`);
      assert.notEqual(got, a);
      assert.notEqual(got.buffer, a.buffer);
      assert.notEqual(got.buffer, b.buffer);
      // inputs untouched
      assertSameTyped(a, a0, 'a unchanged');
      assertSameTyped(b, b0, 'b unchanged');
      // in place
      const acc = a.slice();
      r.combineInto(acc, b);
      assertSameTyped(acc, want, `combineInto ${op} ${Ctor.name}`);
      assertSameTyped(b, b0, 'x unchanged by combineInto');
      checkOperand(r, a, 'allreduce');
      // subarray views (non-zero byteOffset) work the same
      const big = new Ctor(av.length + 2);
      big.set(a, 1);
      const view = big.subarray(1, 1 + av.length);
      assertSameTyped(r.combine(view, b), want, 'subarray operand');
    });
  }

  test(`${op}: Buffer stays a Buffer`, () => {
    const r = reducer(op, 'reduce');
    const a = Buffer.from([1, 2, 0, 255, 200, 5]), b = Buffer.from([3, 4, 0, 1, 100, 0]);
    const want = refTyped(op, new Uint8Array(a), new Uint8Array(b), Uint8Array);
    const got = r.combine(a, b);
    assert.ok(Buffer.isBuffer(got));
    assert.deepEqual([...got], [...want]);
    assert.deepEqual([...a], [1, 2, 0, 255, 200, 5]);
    // Buffer and plain Uint8Array are the same kind
    assert.deepEqual([...r.combine(new Uint8Array(a), b)], [...want]);
    const acc = Buffer.from(a);
    r.combineInto(acc, b);
    assert.deepEqual([...acc], [...want]);
  });

  test(`${op}: Array of numbers`, () => {
    const r = reducer(op, 'allreduce');
    const sets = BITWISE.has(op) ? [NUM_ARR_INT] : [NUM_ARR_INT, NUM_ARR_FLOAT];
    for (const [av, bv] of sets) {
      const a = av.slice(), b = bv.slice();
      const got = r.combine(a, b);
      assertSameArray(got, av.map((x, i) => refNumber(op, x, bv[i])), `${op} [numbers]`);
      assert.notEqual(got, a);
      assertSameArray(a, av, 'a unchanged');
      assertSameArray(b, bv, 'b unchanged');
    }
    if (BITWISE.has(op)) {
      assert.throws(() => r.combine(NUM_ARR_FLOAT[0], NUM_ARR_FLOAT[1]),
        (e) => e instanceof TypeError && e.message.startsWith('allreduce: ') && e.message.includes(`"${op}"`) && /float/.test(e.message));
    }
    assert.deepEqual(r.combine([], []), []);
  });

  test(`${op}: Array of bigints`, () => {
    const r = reducer(op, 'allreduce');
    const [av, bv] = BIG_ARR;
    const a = av.slice(), b = bv.slice();
    const got = r.combine(a, b);
    assert.deepEqual(got, av.map((x, i) => refBigint(op, x, bv[i])));
    assert.deepEqual(a, av);
    assert.deepEqual(b, bv);
  });
}

// ---- specific semantics -------------------------------------------------------------------

test('min/max NaN and signed zero follow Math.min/Math.max', () => {
  const min = reducer('min', 'reduce'), max = reducer('max', 'reduce');
  assert.ok(Number.isNaN(min.combine(NaN, 1)));
  assert.ok(Number.isNaN(min.combine(1, NaN)));
  assert.ok(Number.isNaN(max.combine(NaN, 1)));
  assert.ok(Number.isNaN(max.combine(1, NaN)));
  assert.ok(Object.is(min.combine(0, -0), -0));
  assert.ok(Object.is(min.combine(-0, 0), -0));
  assert.ok(Object.is(max.combine(-0, 0), 0));
  const a = new Float64Array([NaN, 1, 0, -0, 2]), b = new Float64Array([1, NaN, -0, 0, 2]);
  assertSameTyped(min.combine(a, b), new Float64Array([NaN, NaN, -0, -0, 2]), 'min f64');
  assertSameTyped(max.combine(a, b), new Float64Array([NaN, NaN, 0, 0, 2]), 'max f64');
  assertSameArray(min.combine([NaN, 1, 0], [1, NaN, -0]), [NaN, NaN, -0], 'min array');
});

test('integer typed arrays wrap like the array type', () => {
  const sum = reducer('sum', 'allreduce'), prod = reducer('prod', 'allreduce');
  assert.deepEqual([...sum.combine(new Int32Array([2147483647]), new Int32Array([1]))], [-2147483648]);
  assert.deepEqual([...prod.combine(new Int32Array([2147483647]), new Int32Array([2147483647]))], [1]);
  assert.deepEqual([...prod.combine(new Uint32Array([4294967295]), new Uint32Array([4294967295]))], [1]);
  assert.deepEqual([...sum.combine(new Uint8Array([250]), new Uint8Array([10]))], [4]);
  assert.deepEqual([...sum.combine(new Uint8ClampedArray([250]), new Uint8ClampedArray([10]))], [255]);
  assert.deepEqual([...sum.combine(new BigInt64Array([2n ** 63n - 1n]), new BigInt64Array([1n]))], [-(2n ** 63n)]);
  assert.deepEqual([...reducer('land', 'x').combine(new BigUint64Array([5n, 0n]), new BigUint64Array([7n, 7n]))], [1n, 0n]);
});

test('logical ops: 1/0 for numbers, 1n/0n for bigints', () => {
  assert.equal(reducer('land', 'x').combine(5, -3), 1);
  assert.equal(reducer('land', 'x').combine(5, 0), 0);
  assert.equal(reducer('lor', 'x').combine(0, 0), 0);
  assert.equal(reducer('lxor', 'x').combine(2, 3), 0);
  assert.equal(reducer('lxor', 'x').combine(2n, 0n), 1n);
  assert.equal(reducer('lor', 'x').combine(0n, 0n), 0n);
});

test('bitwise ops on numbers: int32 and beyond', () => {
  assert.equal(reducer('band', 'x').combine(12, 10), 8);
  assert.equal(reducer('bor', 'x').combine(12, 10), 14);
  assert.equal(reducer('bxor', 'x').combine(12, 10), 6);
  assert.equal(reducer('bor', 'x').combine(2 ** 40, 1), 2 ** 40 + 1);
  assert.equal(reducer('band', 'x').combine(-1, 2 ** 40), 2 ** 40);
  assert.equal(reducer('bor', 'x').combine(2 ** 31, 1), 2 ** 31 + 1); // not int32: no sign flip
  assert.equal(reducer('bxor', 'x').combine(2 ** 32 - 1, 1), 2 ** 32 - 2);
});

// ---- errors -----------------------------------------------------------------------------------

test('reducer: unknown op names and non-functions are a TypeError naming the call', () => {
  assert.throws(() => reducer('xyz', 'allreduce'), {
    name: 'TypeError',
    message: 'allreduce: unknown reduction op "xyz" (expected sum|prod|min|max|land|lor|lxor|band|bor|bxor|minloc|maxloc, a function or { fn, commute })',
  });
  for (const bad of [42, null, undefined, {}, [], 'SUM', '', Symbol('s'), true]) {
    assert.throws(() => reducer(bad, 'reduce'), (e) => e instanceof TypeError && e.message.startsWith('reduce: unknown reduction op '), String(bad?.toString?.()));
  }
});

const isCount = (call, na, nb) => (e) =>
  e.name === 'OrchidError' && e.code === 'ERR_COUNT' && e.message.startsWith(`${call}: `) && e.message.includes(`lengths ${na} and ${nb} differ`);

test('length mismatches are ERR_COUNT', () => {
  const r = reducer('sum', 'allreduce');
  assert.throws(() => r.combine(new Float64Array(3), new Float64Array(4)), isCount('allreduce', 3, 4));
  assert.throws(() => r.combineInto(new Float64Array(3), new Float64Array(4)), isCount('allreduce', 3, 4));
  assert.throws(() => r.combine([1, 2, 3], [1, 2, 3, 4]), isCount('allreduce', 3, 4));
  assert.throws(() => r.combine([1n, 2n, 3n], [1n]), isCount('allreduce', 3, 1));
  assert.throws(() => r.combine([], [1]), isCount('allreduce', 0, 1));
  assert.throws(() => r.combine([1n], []), isCount('allreduce', 1, 0));
  assert.throws(() => reducer('bxor', 'scan').combine(new BigInt64Array(2), new BigInt64Array(5)), isCount('scan', 2, 5));
});

test('kind mismatches are TypeErrors naming the call', () => {
  const r = reducer('sum', 'exscan');
  const isTE = (e) => e instanceof TypeError && e.message.startsWith('exscan: ');
  const cases = [
    [1, 1n], [1n, 1], [new Float64Array(2), new Float32Array(2)], [new Int32Array(2), new Uint32Array(2)],
    [new Float64Array(2), [1, 2]], [[1, 2], new Float64Array(2)], [[1, 2], [1n, 2n]], [1, [1]], [[1], 1],
    [1, new Float64Array(1)], [1, 'a'], ['a', 'b'], [1, null], [undefined, 1], [{}, {}],
  ];
  for (const [a, b] of cases) assert.throws(() => r.combine(a, b), isTE);
  assert.throws(() => r.combineInto(new Float64Array(2), new Float32Array(2)), isTE);
  assert.throws(() => r.combineInto(new Float64Array(2), [1, 2]), isTE);
  assert.throws(() => r.combineInto([1, 2], new Float64Array(2)), isTE);
  assert.throws(() => reducer('land', 'exscan').combine(true, 1), isTE);
});

test('bitwise ops on floats are TypeErrors naming the call and the op', () => {
  for (const op of BITWISE) {
    const r = reducer(op, 'allreduce');
    const isTE = (e) => e instanceof TypeError && e.message.startsWith('allreduce: ') && e.message.includes(`"${op}"`);
    for (const [a, b] of [[1.5, 2], [2, 1.5], [NaN, 1], [Infinity, 1], [2 ** 60, 1],
      [new Float64Array(2), new Float64Array(2)], [new Float32Array(2), new Float32Array(2)], [[1, 2.5], [1, 2]], [[1, 2], [1, 2.5]]]) {
      assert.throws(() => r.combine(a, b), isTE);
    }
  }
});

// ---- checkOperand -----------------------------------------------------------------------------

test('checkOperand accepts valid operands', () => {
  for (const op of OPS) {
    const r = reducer(op, 'allreduce');
    const ok = [1, -7, 0, 2 ** 40, 5n, new Int32Array(3), new BigUint64Array(2), Buffer.from([1]), [1, 2, 3], [1n, 2n], []];
    if (!BITWISE.has(op)) ok.push(1.5, NaN, new Float64Array(3), new Float32Array(1), [1.5, 2]);
    if (LOGICAL.has(op)) ok.push(true, false);
    for (const v of ok) checkOperand(r, v, 'allreduce');
  }
});

test('checkOperand rejects unsupported operands with a TypeError naming the call', () => {
  for (const op of OPS) {
    const r = reducer(op, 'reduce');
    const bad = ['str', {}, null, undefined, [[1]], [[1], [2]], [1, 1n], [1n, 1], [1, 'a'], ['a'], [true], [1, , 3],
      [undefined], Symbol('x'), () => 1, new Map(), new Set([1]), new Date(), new ArrayBuffer(8), new DataView(new ArrayBuffer(8))];
    if (!LOGICAL.has(op)) bad.push(true, false);
    for (const v of bad) {
      assert.throws(() => checkOperand(r, v, 'reduce'), (e) => e instanceof TypeError && e.message.startsWith('reduce: ') && e.message.includes(`"${op}"`),
        `${op} on ${typeof v === 'symbol' ? 'symbol' : Array.isArray(v) ? JSON.stringify(v, (_, x) => typeof x === 'bigint' ? `${x}n` : x) : String(v)}`);
    }
  }
});

test('checkOperand rejects floats for bitwise ops', () => {
  for (const op of BITWISE) {
    const r = reducer(op, 'scan');
    for (const v of [1.5, -0.25, NaN, Infinity, -Infinity, 2 ** 53, new Float32Array(1), new Float64Array(1), [1, 2.5], [NaN]]) {
      assert.throws(() => checkOperand(r, v, 'scan'), (e) => e instanceof TypeError && e.message.startsWith('scan: ') && e.message.includes(`"${op}"`));
    }
  }
});

test('checkOperand: custom functions accept anything', () => {
  const r = reducer((a, b) => a + b, 'reduce');
  for (const v of ['s', {}, null, undefined, [[1]], true, 1.5, new Map()]) checkOperand(r, v, 'reduce');
});

// ---- custom functions -------------------------------------------------------------------------

test('custom function: applied as fn(lower, higher)', () => {
  const r = reducer((a, b) => a + b, 'scan');
  assert.equal(r.name, 'custom');
  assert.equal(r.builtin, false);
  assert.equal(r.combine('a', 'b'), 'ab');
  assert.equal(['a', 'b', 'c', 'd'].reduce((acc, x) => r.combine(acc, x)), 'abcd');
  const calls = [];
  const r2 = reducer((a, b) => { calls.push([a, b]); return { ...a, ...b }; }, 'reduce');
  assert.deepEqual(r2.combine({ x: 1 }, { x: 2, y: 3 }), { x: 2, y: 3 });
  assert.deepEqual(calls, [[{ x: 1 }, { x: 2, y: 3 }]]);
  assert.throws(() => r.combineInto(new Float64Array(1), new Float64Array(1)), (e) => e instanceof TypeError && e.message.startsWith('scan: '));
});

// ---- isTypedArray -----------------------------------------------------------------------------

test('isTypedArray', () => {
  for (const [Ctor] of TYPED) assert.equal(isTypedArray(new Ctor(1)), true, Ctor.name);
  assert.equal(isTypedArray(Buffer.alloc(2)), true);
  assert.equal(isTypedArray(new Float64Array(4).subarray(1)), true);
  for (const v of [new DataView(new ArrayBuffer(2)), new ArrayBuffer(2), [], [1], null, undefined, 1, 's', {}, { length: 1, 0: 1 }]) {
    assert.equal(isTypedArray(v), false, String(v));
  }
});

// ---- hot path sanity --------------------------------------------------------------------------

test('combineInto on two 1M-element Float64Arrays', () => {
  const n = 1 << 20;
  const acc = new Float64Array(n), x = new Float64Array(n);
  for (let i = 0; i < n; i++) { acc[i] = i; x[i] = 2 * i + 0.5; }
  const sum = reducer('sum', 'allreduce');
  sum.combineInto(acc, x);
  for (let i = 0; i < n; i++) if (acc[i] !== 3 * i + 0.5) assert.fail(`acc[${i}] = ${acc[i]}`);
  const max = reducer('max', 'allreduce');
  max.combineInto(acc, x); // acc >= x everywhere
  for (let i = 0; i < n; i++) if (acc[i] !== 3 * i + 0.5) assert.fail(`max acc[${i}] = ${acc[i]}`);
  const out = reducer('min', 'allreduce').combine(acc, x);
  for (let i = 0; i < n; i++) if (out[i] !== x[i]) assert.fail(`min out[${i}] = ${out[i]}`);
  assert.equal(x[n - 1], 2 * (n - 1) + 0.5);
});

// ---- minloc / maxloc and { fn, commute } --------------------------------------------------

test('minloc/maxloc: pairs, ties to the lower index, NaN wins, associative and commutative', () => {
  const min = reducer('minloc', 'allreduce');
  const max = reducer('maxloc', 'allreduce');
  assert.deepEqual(min.combine([3, 1], [2, 5]), [2, 5]);
  assert.deepEqual(max.combine([3, 1], [2, 5]), [3, 1]);
  assert.deepEqual(min.combine([2, 7], [2, 4]), [2, 4]);
  assert.deepEqual(max.combine([2, 4], [2, 7]), [2, 4]);
  assert.deepEqual(min.combine([0, 3], [-0, 9]), [0, 3]);
  assert.ok(Number.isNaN(min.combine([1, 0], [NaN, 5])[0]));
  assert.ok(Number.isNaN(max.combine([NaN, 2], [1, 0])[0]));
  assert.deepEqual(min.combine([NaN, 8], [NaN, 3])[1], 3);
  assert.deepEqual(min.combine([5n, 1], [4n, 2]), [4n, 2]);
  // every order of combining gives the same pair
  const vals = [[1, 4], [0, 9], [1, 2], [0, 3], [NaN, 7], [2, 0]];
  for (const r of [min, max]) {
    const want = vals.reduce((a, b) => r.combine(a, b));
    for (let k = 0; k < 20; k++) {
      const shuffled = [...vals].sort(() => Math.random() - 0.5);
      assert.deepEqual(shuffled.reduce((a, b) => r.combine(a, b)), want);
    }
  }
});

test('minloc/maxloc: { values, indices } elementwise, and their errors', () => {
  const min = reducer('minloc', 'reduce');
  const got = min.combine({ values: Float64Array.of(1, 5, 2), indices: Int32Array.of(0, 0, 0) }, { values: Float64Array.of(0, 6, 2), indices: Int32Array.of(1, 1, 1) });
  assert.ok(got.values instanceof Float64Array && got.indices instanceof Int32Array);
  assert.deepEqual(Array.from(got.values), [0, 5, 2]);
  assert.deepEqual(Array.from(got.indices), [1, 0, 0]);
  assert.throws(() => checkOperand(min, [1, 2, 3], 'reduce'), /reduce: op "minloc" needs a \[value, index\] pair/);
  assert.throws(() => checkOperand(min, [1, 0.5], 'reduce'), /index 0.5 is not an integer/);
  assert.throws(() => checkOperand(min, { values: Float64Array.of(1), indices: Float64Array.of(1) }, 'reduce'), /indices/);
  assert.throws(() => checkOperand(min, { values: Float64Array.of(1), indices: Int32Array.of(1, 2) }, 'reduce'), (e) => e.code === 'ERR_COUNT');
  assert.throws(() => min.combine([1, 2], { values: Float64Array.of(1), indices: Int32Array.of(1) }), TypeError);
  assert.throws(() => min.combine({ values: Float64Array.of(1), indices: Int32Array.of(1) }, { values: Float32Array.of(1), indices: Int32Array.of(1) }), TypeError);
  checkOperand(min, [1, 2], 'reduce');
  checkOperand(min, { values: new BigInt64Array(2), indices: new Int32Array(2) }, 'reduce');
});

test('{ fn, commute }: the flag reaches the reducer; bare functions keep rank order', () => {
  const fn = (a, b) => a + b;
  assert.equal(reducer(fn, 'x').commute, false);
  assert.equal(reducer({ fn }, 'x').commute, false);
  assert.equal(reducer({ fn, commute: true }, 'x').commute, true);
  assert.notEqual(reducer({ fn, commute: true }, 'x').name, reducer({ fn }, 'x').name);
  assert.equal(reducer({ fn, commute: true }, 'x').combine('a', 'b'), 'ab');
  assert.equal(reducer('sum', 'x').commute, true);
  assert.throws(() => reducer({ fn, commute: 1 }, 'scan'), /scan: the op's commute flag must be a boolean/);
  assert.throws(() => reducer({ fn: 3 }, 'scan'), /scan: unknown reduction op/);
});
