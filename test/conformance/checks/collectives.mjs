// Conformance checks, collectives: barrier, bcast, scatter, gather, allgather, alltoall,
// reductions (builtin and custom ops, the large-array ring), scan/exscan, and collective
// traffic kept apart from a user's receives. checks.mjs runs them on the world, on a dup()
// and on a split() half.
import assert from 'node:assert/strict';
import { ANY_SOURCE, ANY_TAG } from 'orchid-mpi';
import { range, sum, rejects } from './common.mjs';

export const collectives = [
  ['barrier: nobody leaves before everyone arrived', async (w) => {
    if (w.rank === 0) await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await w.barrier();
    if (w.rank !== 0 && w.size > 1) assert.ok(Date.now() - t0 >= 100, 'left the barrier before rank 0 arrived');
  }],

  ['bcast from every root, values and typed arrays', async (w) => {
    for (let root = 0; root < w.size; root++) {
      const v = await w.bcast(w.rank === root ? { root, s: 'x'.repeat(100) } : undefined, root);
      assert.deepEqual(v, { root, s: 'x'.repeat(100) });
      const a = await w.bcast(w.rank === root ? new Int32Array(200000).fill(root) : undefined, root);
      assert.ok(a instanceof Int32Array);
      assert.equal(a[199999], root);
    }
  }],

  ['scatter: Array, even typed split, counts', async (w) => {
    for (let root = 0; root < w.size; root++) {
      const v = await w.scatter(w.rank === root ? range(w.size).map((i) => ({ i, root })) : undefined, root);
      assert.deepEqual(v, { i: w.rank, root });
    }
    const ta = await w.scatter(w.rank === 0 ? Float64Array.from(range(w.size * 3)) : undefined, 0);
    assert.ok(ta instanceof Float64Array);
    assert.deepEqual(Array.from(ta), [w.rank * 3, w.rank * 3 + 1, w.rank * 3 + 2]);
    const counts = range(w.size).map((i) => i + 1);
    const total = counts.reduce((a, b) => a + b, 0);
    const part = await w.scatter(w.rank === 0 ? Int32Array.from(range(total)) : undefined, 0, { counts });
    const start = counts.slice(0, w.rank).reduce((a, b) => a + b, 0);
    assert.deepEqual(Array.from(part), range(w.rank + 1).map((i) => start + i));
  }],

  ['gather and allgather: values, typed arrays as views of one buffer', async (w) => {
    for (let root = 0; root < w.size; root++) {
      const g = await w.gather({ r: w.rank }, root);
      if (w.rank === root) assert.deepEqual(g, range(w.size).map((r) => ({ r })));
      else assert.equal(g, undefined);
    }
    const tg = await w.gather(new Float64Array([w.rank, w.rank]), 0);
    if (w.rank === 0) {
      assert.equal(tg.length, w.size);
      for (const [i, p] of tg.entries()) {
        assert.ok(p instanceof Float64Array);
        assert.deepEqual(Array.from(p), [i, i]);
        assert.equal(p.buffer, tg[0].buffer, 'parts share one ArrayBuffer');
      }
    }
    const ag = await w.allgather(new Uint16Array(w.rank + 1).fill(w.rank));
    for (const [i, p] of ag.entries()) {
      assert.ok(p instanceof Uint16Array);
      assert.equal(p.length, i + 1);
      assert.ok(p.every((x) => x === i));
      assert.equal(p.buffer, ag[0].buffer);
    }
    assert.deepEqual(await w.allgather(`r${w.rank}`), range(w.size).map((r) => `r${r}`));
  }],

  ['alltoall: values and typed arrays', async (w) => {
    const got = await w.alltoall(range(w.size).map((d) => ({ from: w.rank, to: d })));
    assert.deepEqual(got, range(w.size).map((s) => ({ from: s, to: w.rank })));
    const t = await w.alltoall(range(w.size).map((d) => new Int32Array([w.rank * 100 + d])));
    for (const [s, p] of t.entries()) {
      assert.equal(p[0], s * 100 + w.rank);
      assert.equal(p.buffer, t[0].buffer);
    }
    await rejects(w.alltoall([1]), w.size === 1 ? undefined : 'ERR_COUNT').catch(() => {});
  }],

  ['reduce and allreduce: builtin ops on numbers, bigints, arrays, typed arrays', async (w) => {
    const n = w.size;
    const r = w.rank;
    assert.equal(await w.allreduce(r + 1, 'sum'), (n * (n + 1)) / 2);
    assert.equal(await w.allreduce(r + 1, 'prod'), range(n).reduce((a, i) => a * (i + 1), 1));
    assert.equal(await w.allreduce(r, 'min'), 0);
    assert.equal(await w.allreduce(r, 'max'), n - 1);
    assert.equal(await w.allreduce(BigInt(r), 'sum'), BigInt(sum(n)));
    assert.equal(await w.allreduce(r === 0 ? 1 : 1, 'land'), 1);
    assert.equal(await w.allreduce(r === 0 ? 1 : 0, 'lor'), 1);
    assert.equal(await w.allreduce(1, 'lxor'), n % 2);
    assert.equal(await w.allreduce(1 << r, 'bor'), (1 << n) - 1);
    assert.equal(await w.allreduce(0xff, 'band'), 0xff);
    assert.equal(await w.allreduce(1 << r, 'bxor'), (1 << n) - 1);
    assert.deepEqual(await w.allreduce([r, 1, -r], 'sum'), [sum(n), n, -sum(n)]);
    const t = await w.allreduce(new Float64Array([r, 2 * r, 1]), 'sum');
    assert.ok(t instanceof Float64Array);
    assert.deepEqual(Array.from(t), [sum(n), 2 * sum(n), n]);
    const i32 = await w.allreduce(new Int32Array([r, -r]), 'max');
    assert.deepEqual(Array.from(i32), [n - 1, 0]);
    for (let root = 0; root < n; root++) {
      const red = await w.reduce(new Float32Array([r, 1]), 'sum', root);
      if (r === root) assert.deepEqual(Array.from(red), [sum(n), n]);
      else assert.equal(red, undefined);
      assert.equal(await w.reduce(r, 'max', root), r === root ? n - 1 : undefined);
    }
  }],

  ['allreduce: large typed arrays (ring), input untouched, identical everywhere', async (w) => {
    for (const len of [1 << 17, (1 << 17) + 3]) {
      const a = new Float64Array(len).map((_, i) => i + w.rank);
      const out = await w.allreduce(a, 'sum');
      assert.equal(out.length, len);
      for (const i of [0, 1, len >> 1, len - 1]) assert.equal(out[i], i * w.size + sum(w.size));
      assert.equal(a[1], 1 + w.rank, 'input was modified');
      const mx = await w.allreduce(new Int32Array(len).fill(w.rank), 'max');
      assert.ok(mx.every((x) => x === w.size - 1));
    }
  }],

  ['custom reduction functions apply in rank order', async (w) => {
    const cat = (a, b) => a + b;
    const expected = range(w.size).map((r) => String.fromCharCode(97 + r)).join('');
    const me = String.fromCharCode(97 + w.rank);
    assert.equal(await w.allreduce(me, cat), expected);
    for (let root = 0; root < w.size; root++) {
      const red = await w.reduce(me, cat, root);
      assert.equal(red, w.rank === root ? expected : undefined);
    }
    assert.equal(await w.scan(me, cat), expected.slice(0, w.rank + 1));
    assert.equal(await w.exscan(me, cat), w.rank === 0 ? undefined : expected.slice(0, w.rank));
    // matrices: 2x2 products do not commute
    const mul = (a, b) => [a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3]];
    const mats = range(w.size).map((r) => [1, r + 1, 0, 1 + (r % 2)]);
    const want = mats.reduce((a, b) => mul(a, b));
    assert.deepEqual(await w.allreduce(mats[w.rank], mul), want);
  }],

  ['scan and exscan', async (w) => {
    assert.equal(await w.scan(w.rank + 1, 'sum'), ((w.rank + 1) * (w.rank + 2)) / 2);
    assert.equal(await w.exscan(w.rank + 1, 'sum'), w.rank === 0 ? undefined : (w.rank * (w.rank + 1)) / 2);
    const t = await w.scan(new Int32Array([1, w.rank]), 'sum');
    assert.deepEqual(Array.from(t), [w.rank + 1, sum(w.rank + 1)]);
    assert.equal(await w.scan(w.rank, 'max'), w.rank);
  }],

  ['collective traffic never matches a user recv', async (w) => {
    const q = w.irecv(ANY_SOURCE, ANY_TAG);
    await w.bcast(w.rank === 0 ? 'coll' : undefined, 0);
    await w.allreduce(1);
    await w.barrier();
    assert.equal(q.test(), undefined, 'a collective message matched the user recv');
    await w.send('p2p', w.rank, 77);
    assert.equal((await q.wait()).data, 'p2p');
  }],

  ['min/max with NaN and signed zeros: JS semantics (Math.min/Math.max), the same answer on every rank', async (w) => {
    const n = w.size;
    // every rank makes the same calls whatever it gets (a rank that stopped at the first wrong
    // answer would leave the others in a collective it never calls); the check fails at the end
    const wrong = [];
    const show = (v) => (Object.is(v, -0) ? '-0' : String(v));
    const same = (got, want, what) => Object.is(got, want) || wrong.push(`${what}: got ${show(got)}, want ${show(want)}`);
    // a NaN on any one rank (first, middle, last): NaN everywhere, for numbers and float arrays
    for (const at of new Set([0, n >> 1, n - 1])) {
      const x = w.rank === at ? NaN : w.rank + 1;
      for (const op of ['min', 'max']) {
        same(await w.allreduce(x, op), NaN, `allreduce(${op}) of a number with NaN on rank ${at}`);
        const red = await w.reduce(x, op, n - 1);
        if (w.rank === n - 1) same(red, NaN, `reduce(${op}) with NaN on rank ${at}`);
        same(await w.scan(x, op), w.rank >= at ? NaN : op === 'min' ? 1 : w.rank + 1, `scan(${op}) with NaN on rank ${at}`);
        for (const [C, len] of [[Float64Array, 3], [Float32Array, 5], [Float64Array, 20000], [Float32Array, 40000]]) {
          const a = new C(len).fill(w.rank + 1);
          if (w.rank === at) a[1] = NaN;
          const got = await w.allreduce(a, op);
          same(got[1], NaN, `allreduce(${op}) of a ${C.name}(${len}) with NaN on rank ${at}`);
          same(got[0], op === 'min' ? 1 : n, `allreduce(${op}) of a ${C.name}(${len}), element 0`);
        }
      }
    }
    // -0 and 0: min gives -0, max gives 0, whichever rank has which
    for (const neg of new Set([0, n - 1])) {
      const z = w.rank === neg ? -0 : 0;
      same(await w.allreduce(z, 'min'), -0, 'allreduce(min) of -0 and 0');
      same(await w.allreduce(z, 'max'), n > 1 ? 0 : z, 'allreduce(max) of -0 and 0');
      for (const len of [4, 20000]) {
        const a = new Float64Array(len).fill(z);
        same((await w.allreduce(a, 'min'))[len - 1], -0, `allreduce(min) of a Float64Array(${len}) of -0 and 0`);
        same((await w.allreduce(a, 'max'))[len - 1], n > 1 ? 0 : z, `allreduce(max) of a Float64Array(${len}) of -0 and 0`);
      }
    }
    assert.deepEqual(wrong, [], `rank ${w.rank}`);
  }],

  ['a -0 keeps its sign through reductions on one rank, whatever the op (as on ws)', async (w) => {
    const alone = await w.split(w.rank);
    assert.equal(alone.size, 1);
    const add = (a, b) => a + b;
    assert.ok(Object.is(await alone.allreduce(-0, add), -0), 'allreduce(-0, custom op)');
    assert.ok(Object.is(await alone.reduce(-0, add, 0), -0), 'reduce(-0, custom op)');
    assert.ok(Object.is(await alone.scan(-0, add), -0), 'scan(-0, custom op)');
    assert.ok(Object.is((await alone.allreduce([-0, 1], 'sum'))[0], -0), 'allreduce([-0, 1], sum)');
    assert.ok(Object.is(await alone.allreduce(-0, 'sum'), -0), 'allreduce(-0, sum)');
    assert.equal(await alone.exscan(-0, add), undefined);
  }],
];
