// Conformance checks, nonblocking collectives: ibarrier, ibcast, ireduce, iallreduce,
// igather, iallgather, ialltoall as Requests, several outstanding at once on one communicator
// (matched by the order they were started in), mixed with isend/irecv in waitAll, waitAny,
// waitSome, testAll and testAny; an iallreduce that completes while the rank computes; bad
// arguments that fail the request on every member. checks.mjs also runs them on a dup() and
// a split() half.
import assert from 'node:assert/strict';
import { Request, testAll, testAny, waitAll, waitAny, waitSome } from 'orchid-mpi';
import { range, rejects, sum } from './common.mjs';

const tick = () => new Promise((resolve) => setImmediate(resolve));

export const nonblocking = [
  ['i-collectives: every call as a Request, all outstanding at once, waited for last to first', async (w) => {
    const n = w.size, r = w.rank;
    const reqs = [
      w.ibarrier(),
      w.ibcast(r === 0 ? { from: 0, s: 'b'.repeat(50) } : undefined, 0),
      w.ireduce(r + 1, 'sum', n - 1),
      w.iallreduce(new Float64Array([r, 1]), 'sum'),
      w.igather({ r }, 0),
      w.iallgather(`r${r}`),
      w.ialltoall(range(n).map((d) => r * 100 + d)),
      w.ibcast(r === n - 1 ? new Int32Array([7, 8, 9]) : undefined, n - 1),
    ];
    for (const q of reqs) assert.ok(q instanceof Request, 'an i-collective returns a Request');
    const out = [];
    for (let i = reqs.length - 1; i >= 0; i--) out[i] = await reqs[i].wait();
    assert.equal(out[0], undefined);
    assert.deepEqual(out[1], { from: 0, s: 'b'.repeat(50) });
    assert.equal(out[2], r === n - 1 ? (n * (n + 1)) / 2 : undefined);
    assert.ok(out[3] instanceof Float64Array);
    assert.deepEqual(Array.from(out[3]), [sum(n), n]);
    assert.deepEqual(out[4], r === 0 ? range(n).map((i) => ({ r: i })) : undefined);
    assert.deepEqual(out[5], range(n).map((i) => `r${i}`));
    assert.deepEqual(out[6], range(n).map((s) => s * 100 + r));
    assert.ok(out[7] instanceof Int32Array);
    assert.deepEqual(Array.from(out[7]), [7, 8, 9]);
    for (const q of reqs) assert.ok(q.done);
  }],

  ['i-collectives: outstanding iallreduces of one signature match by starting order', async (w) => {
    const n = w.size, r = w.rank;
    // the same call four times (only the order tells them apart), and a large one (ws: the ring)
    const a = w.iallreduce(r, 'sum');
    const b = w.iallreduce(10 * r, 'sum');
    const c = w.iallreduce(100 * r + 1, 'sum');
    const big = w.iallreduce(new Float64Array(1 << 15).fill(r + 1), 'sum');
    const d = w.iallreduce(1000 * r, 'sum');
    const m = w.iallreduce(r, 'max');
    // waited for in another order than started, and differently on odd and even ranks
    const order = r % 2 ? [d, m, big, c, b, a] : [m, a, big, d, b, c];
    await Promise.all(order.map((q) => q.wait()));
    assert.equal(a.test(), sum(n));
    assert.equal(b.test(), 10 * sum(n));
    assert.equal(c.test(), 100 * sum(n) + n);
    assert.equal(d.test(), 1000 * sum(n));
    assert.equal(m.test(), n - 1);
    const g = big.test();
    assert.equal(g.length, 1 << 15);
    assert.ok(g.every((x) => x === (n * (n + 1)) / 2));
  }],

  ['i-collectives mix with isend/irecv: waitAll, waitAny, waitSome, testAll, testAny', async (w) => {
    const n = w.size, r = w.rank;
    const right = (r + 1) % n, left = (r - 1 + n) % n;
    const recv = w.irecv(left, 91);
    const coll = w.iallreduce(1, 'sum');
    const send = w.isend(`from ${r}`, right, 91);
    const [m, total, sent] = await waitAll([recv, coll, send]);
    assert.equal(m.data, `from ${left}`);
    assert.equal(total, n);
    assert.equal(sent, undefined);
    const all = testAll([recv, coll, send]);
    assert.equal(all.length, 3);
    assert.equal(all[0].data, `from ${left}`);
    assert.equal(all[1], n);
    assert.deepEqual(testAny([coll, recv]), { index: 0, value: n });
    const some = await waitSome([recv, coll]);
    assert.deepEqual(some.indices, [0, 1]);
    assert.equal(some.values[1], n);
    const r93 = w.irecv(left, 93);
    const first = await waitAny([w.iallgather(r), r93]);
    assert.equal(first.index, 0, 'the allgather completes, the receive has no sender yet');
    assert.deepEqual(first.value, range(n));

    // pending requests: nobody sends tag 92 before the barrier after waitSome, which needs this rank
    const late = w.irecv(left, 92);
    assert.equal(testAll([coll, late]), undefined, 'testAll while one is pending');
    assert.equal(testAny([late]), undefined, 'testAny while none is done');
    assert.equal(late.test(), undefined);
    const bar = w.ibarrier();
    const got = await waitSome([late, bar]);
    assert.deepEqual(got.indices, [1], 'waitSome returns the completed ones only');
    assert.deepEqual(got.values, [undefined]);
    await w.barrier();
    await w.send('x', right, 92);
    await w.send('y', right, 93); // for the receive waitAny left pending
    assert.equal((await late.wait()).data, 'x');
    assert.deepEqual(testAll([]), []);
    assert.throws(() => testAny([]), (e) => e.code === 'ERR_ARG' && /testAny/.test(e.message));
    await rejects(waitSome([]), 'ERR_ARG', /waitSome/);
    assert.throws(() => testAll([1]), (e) => e instanceof TypeError && /testAll/.test(e.message));
    assert.equal((await r93.wait()).data, 'y');
  }],

  ['iallreduce overlaps computation: it completes while the rank computes in slices', async (w) => {
    const n = w.size;
    const input = new Float64Array(1 << 16).fill(w.rank + 1); // 512 KiB: the ring on ws
    const q = w.iallreduce(input, 'sum');
    const deadline = Date.now() + 120_000;
    let acc = 0, slices = 0;
    while (!q.done) {
      assert.equal(q.test(), undefined, 'test() never blocks and has no result yet');
      for (let i = 0; i < 100_000; i++) acc += Math.sqrt(i + slices);
      slices++;
      await tick(); // the event loop turns between slices: the collective progresses there
      if (Date.now() > deadline) throw new Error(`iallreduce did not complete in ${slices} slices of computation without wait()`);
    }
    const got = q.test();
    assert.ok(acc > 0);
    assert.equal(got.length, input.length);
    assert.ok(got.every((x) => x === (n * (n + 1)) / 2));
    assert.equal(input[0], w.rank + 1, 'the input was modified');
    // several outstanding while computing, waited for by testAll polling
    const reqs = [w.iallreduce(w.rank, 'max'), w.ibcast(w.rank === 0 ? 'go' : undefined, 0), w.ibarrier()];
    let res;
    while (!(res = testAll(reqs))) {
      for (let i = 0; i < 50_000; i++) acc += Math.sqrt(i);
      await tick();
      if (Date.now() > deadline) throw new Error('testAll never saw the collectives complete');
    }
    assert.deepEqual(res, [n - 1, 'go', undefined]);
  }],

  ['i-collectives: bad arguments fail the request on every member, never a throw', async (w) => {
    const n = w.size, r = w.rank;
    const q = w.ibcast(1, n); // a bad root everywhere
    assert.ok(q instanceof Request);
    await rejects(q.wait(), 'ERR_ROOT', /bcast: root/);
    assert.ok(q.done);
    assert.throws(() => q.test(), (e) => e.code === 'ERR_ROOT');
    await rejects(w.ireduce(1, 'sum', -1).wait(), 'ERR_ROOT', /reduce/);
    await rejects(w.igather(1, n + 1).wait(), 'ERR_ROOT', /gather/);
    await rejects(w.iallreduce(1, 'nope').wait(), 'TypeError', /allreduce: unknown reduction op/);
    // one rank's bad operand: its TypeError on every rank
    await rejects(w.iallreduce(r === n - 1 ? 'x' : 1, 'sum').wait(), 'TypeError', /allreduce/);
    if (n > 1) await rejects(w.ialltoall([1]).wait(), 'ERR_COUNT', /alltoall/);
    // a failed request in a list: waitAll rejects, testAll throws, once it has failed
    const bad = w.ibcast(1, -2);
    const good = w.iallreduce(2, 'sum');
    await rejects(waitAll([good, bad]), 'ERR_ROOT');
    assert.throws(() => testAll([good, bad]), (e) => e.code === 'ERR_ROOT');
    await rejects(waitSome([bad]), 'ERR_ROOT');
    assert.equal(await good.wait(), 2 * n);
    assert.equal(await w.allreduce(1, 'sum'), n, 'the communicator still works');
  }],
];
