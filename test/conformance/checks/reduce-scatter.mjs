// Conformance checks, reductions grown since: reduceScatterBlock and reduceScatter (builtin
// and custom ops, typed arrays and Arrays), 'minloc'/'maxloc' on [value, index] pairs and on
// { values, indices }, custom functions with commute true and false, and their errors
// (ERR_COUNT naming the call and rank on every member, ERR_COLLECTIVE against the call they
// are built on). checks.mjs also runs them on a dup() and a split() half.
import assert from 'node:assert/strict';
import { range, rejects, sum } from './common.mjs';

const letter = (r) => String.fromCharCode(97 + r);

export const reduceScatter = [
  ['reduceScatterBlock: rank i gets block i of the reduction', async (w) => {
    const n = w.size, r = w.rank;
    for (const k of [1, 3]) {
      // element j on rank r: j + 100 r; the sum over ranks at j: n j + 100 sum(n)
      const v = Float64Array.from(range(n * k), (j) => j + 100 * r);
      const got = await w.reduceScatterBlock(v, 'sum');
      assert.ok(got instanceof Float64Array);
      assert.deepEqual(Array.from(got), range(k).map((i) => n * (r * k + i) + 100 * sum(n)));
      assert.equal(v[0], 100 * r, 'the input was modified');
    }
    const big = await w.reduceScatterBlock(new Int32Array(n * 20000).fill(r), 'max'); // ws: the ring underneath
    assert.equal(big.length, 20000);
    assert.ok(big.every((x) => x === n - 1));
    const arr = await w.reduceScatterBlock(range(2 * n).map((j) => j * (r + 1)), 'sum');
    assert.deepEqual(arr, [2 * r, 2 * r + 1].map((j) => j * ((n * (n + 1)) / 2)));
    const big64 = await w.reduceScatterBlock(new BigInt64Array(n).fill(BigInt(r)), 'sum');
    assert.deepEqual(Array.from(big64), [BigInt(sum(n))]);
    // a custom op on an Array: concatenation per element, in rank order
    const cat = await w.reduceScatterBlock(range(n).map(() => letter(r)), (a, b) => a.map((x, i) => x + b[i]));
    assert.deepEqual(cat, [range(n).map(letter).join('')]);
  }],

  ['reduceScatter: blocks of counts[i] elements (0 allowed); counts omitted: equal blocks', async (w) => {
    const n = w.size, r = w.rank;
    const counts = range(n).map((i) => (i % 2 ? 0 : i + 1));
    const total = counts.reduce((a, b) => a + b, 0);
    const start = counts.slice(0, r).reduce((a, b) => a + b, 0);
    const got = await w.reduceScatter(Int32Array.from(range(total), (j) => j * (r + 1)), 'sum', counts);
    assert.ok(got instanceof Int32Array);
    assert.deepEqual(Array.from(got), range(counts[r]).map((i) => (start + i) * ((n * (n + 1)) / 2)));
    const even = await w.reduceScatter(new Float32Array(2 * n).fill(1), 'sum');
    assert.deepEqual(Array.from(even), [n, n]);
    const asTyped = await w.reduceScatter(new Float64Array(total).fill(r), 'min', Int32Array.from(counts));
    assert.equal(asTyped.length, counts[r]);
  }],

  ['minloc/maxloc on [value, index] pairs: ties go to the lower index', async (w) => {
    const n = w.size, r = w.rank;
    // value (r - n/2)^2: the smallest in the middle; index = rank
    const v = (r - (n >> 1)) ** 2;
    assert.deepEqual(await w.allreduce([v, r], 'minloc'), [0, n >> 1]);
    assert.deepEqual(await w.allreduce([r, r], 'maxloc'), [n - 1, n - 1]);
    // every rank the same value: the lowest index wins, whatever the order of combining
    assert.deepEqual(await w.allreduce([5, 10 + r], 'minloc'), [5, 10]);
    assert.deepEqual(await w.allreduce([5, 10 + (n - 1 - r)], 'maxloc'), [5, 10]);
    assert.equal((await w.allreduce([r === n - 1 ? -0 : 0, r], 'minloc'))[1], 0, '0 and -0 tie');
    for (let root = 0; root < n; root++) {
      const red = await w.reduce([-r, 100 + r], 'minloc', root);
      assert.deepEqual(red, r === root ? [-(n - 1), 100 + n - 1] : undefined);
    }
    assert.deepEqual(await w.scan([r % 2, r], 'maxloc'), r === 0 ? [0, 0] : [1, 1]);
    assert.deepEqual(await w.allreduce([BigInt(r), r], 'maxloc'), [BigInt(n - 1), n - 1]);
    const nan = await w.allreduce([r === n - 1 ? NaN : r, r], 'minloc');
    assert.ok(Number.isNaN(nan[0]) && nan[1] === n - 1, 'a NaN value wins, as Math.min gives NaN');
  }],

  ['minloc/maxloc on { values, indices } (paired typed arrays), also in reduceScatterBlock', async (w) => {
    const n = w.size, r = w.rank;
    for (const len of [3, 5000]) {
      // element j: rank (j % n) has the smallest value, -1; every other rank 0; indices = 1000 r + j
      const values = Float64Array.from(range(len), (j) => (j % n === r ? -1 : 0));
      const indices = Int32Array.from(range(len), (j) => 1000 * r + j);
      const got = await w.allreduce({ values, indices }, 'minloc');
      assert.ok(got.values instanceof Float64Array && got.indices instanceof Int32Array);
      for (const j of [0, 1, len - 1]) {
        assert.equal(got.values[j], -1);
        assert.equal(got.indices[j], 1000 * (j % n) + j);
      }
      const mx = await w.allreduce({ values: new Int32Array(len), indices }, 'maxloc');
      assert.ok(mx.indices.every((x, j) => x === j), 'all equal: the lowest index (rank 0)');
    }
    const block = await w.reduceScatterBlock({ values: Float32Array.from(range(2 * n), () => r), indices: new Int32Array(2 * n).fill(r) }, 'maxloc');
    assert.deepEqual(Array.from(block.values), [n - 1, n - 1]);
    assert.deepEqual(Array.from(block.indices), [n - 1, n - 1]);
  }],

  ['custom ops: commute false keeps rank order everywhere; commute true may reorder', async (w) => {
    const n = w.size, r = w.rank;
    const cat = (a, b) => a + b;
    const want = range(n).map(letter).join('');
    const keep = { fn: cat, commute: false };
    assert.equal(await w.allreduce(letter(r), keep), want);
    for (let root = 0; root < n; root++) assert.equal(await w.reduce(letter(r), keep, root), r === root ? want : undefined);
    assert.equal(await w.scan(letter(r), keep), want.slice(0, r + 1));
    assert.equal(await w.exscan(letter(r), keep), r === 0 ? undefined : want.slice(0, r));
    assert.deepEqual(await w.reduceScatterBlock(range(n).map(() => letter(r)), { fn: (a, b) => a.map((x, i) => x + b[i]), commute: false }), [want]);
    // commute true: a commutative op gives the same answer, whatever order it is combined in
    const add = { fn: (a, b) => a + b, commute: true };
    for (let root = 0; root < n; root++) assert.equal(await w.reduce(r + 1, add, root), r === root ? (n * (n + 1)) / 2 : undefined);
    assert.equal(await w.allreduce(r + 1, add), (n * (n + 1)) / 2);
    // and with commute true a non-commutative op still sees each operand once
    for (let root = 0; root < n; root++) {
      const got = await w.reduce(letter(r), { fn: cat, commute: true }, root);
      if (r === root) assert.deepEqual([...got].sort().join(''), want);
    }
    await rejects(w.allreduce(1, { fn: cat, commute: 'yes' }), 'TypeError', /allreduce: the op's commute flag/);
  }],

  ['reduceScatter errors: ERR_COUNT naming the call and rank, on every member', async (w) => {
    const n = w.size, r = w.rank;
    if (n > 1) await rejects(w.reduceScatterBlock(new Float64Array(n + 1), 'sum'), 'ERR_COUNT', /reduceScatterBlock/);
    await rejects(w.reduceScatter(new Float64Array(n), 'sum', range(n).map(() => 2)), 'ERR_COUNT', /reduceScatter: counts/);
    if (n > 1) await rejects(w.reduceScatter(new Float64Array(n), 'sum', [n]), 'ERR_COUNT', /reduceScatter: counts must be/);
    await rejects(w.reduceScatterBlock('str', 'sum'), 'TypeError', /reduceScatterBlock/);
    // one rank's bad counts: every rank fails, naming that rank
    if (n > 1) {
      const counts = range(n).map(() => 1);
      if (r === n - 1) counts[0] = -1;
      await rejects(w.reduceScatter(new Int32Array(n), 'sum', counts), 'ERR_COUNT', new RegExp(`reduceScatter.*rank ${n - 1}`));
      // built on allreduce, but never matched with one
      await rejects(r === 0 ? w.reduceScatterBlock(new Float64Array(n), 'sum') : w.allreduce(new Float64Array(n), 'sum'), 'ERR_COLLECTIVE', /reduceScatterBlock[^]*allreduce|allreduce[^]*reduceScatterBlock/);
    }
    // bad loc operands
    await rejects(w.allreduce([1, 2, 3], 'minloc'), 'TypeError', /allreduce: op "minloc" needs a \[value, index\] pair/);
    await rejects(w.allreduce({ values: new Float64Array(2), indices: new Int32Array(3) }, 'maxloc'), 'ERR_COUNT', /maxloc/);
    await rejects(w.allreduce([1, 0.5], 'minloc'), 'TypeError', /index/);
    assert.equal(await w.allreduce(1, 'sum'), n, 'the communicator still works');
  }],
];
