// Conformance checks, the task pool (orchid-mpi/pool): map in order and as completed, a second
// map and submit alongside, chunks, progress, close with tasks in flight, every worker and
// every host used; a task's exception fails that task only; bad options and modules that do
// not load fail Pool.start on every rank. In a world of one rank 0 runs the tasks itself.
import assert from 'node:assert/strict';
import { Pool, TaskError } from 'orchid-mpi/pool';
import { range, rejects } from './common.mjs';

const TASKS = new URL('./pool-tasks.mjs', import.meta.url);

const collect = async (it) => {
  const out = [];
  for await (const r of it) out.push(r);
  return out;
};

export const pool = [
  ['pool: map in order and again as completed, submit alongside, chunks, progress, close with tasks in flight; every worker and host runs tasks', async (w) => {
    const p = await Pool.start(w, { module: TASKS, export: 'square' });
    const ran = [];
    if (w.rank === 0) {
      assert.ok(p instanceof Pool);
      const workers = Math.max(1, w.size - 1);
      assert.equal(p.workers, workers);
      // in submission order, with progress (done, total of the Array)
      const n = 8 * workers + 3;
      const progress = [];
      const first = await collect(p.map(range(n), { progress: (d, t) => progress.push([d, t]) }));
      assert.deepEqual(first.map((r) => r.index), range(n));
      assert.deepEqual(first.map((r) => r.value.v), range(n).map((x) => x * x));
      assert.deepEqual(progress, range(n).map((i) => [i + 1, n]));
      ran.push(...first.map((r) => r.value));
      // a second map on the same pool: an async source, 3 items per message, as completed;
      // submit() alongside. The source's last item waits for the first result, so the first
      // progress call comes before the total is known and the last one after.
      const m = 3 * 2 * workers + 1;
      let firstDone;
      const firstResult = new Promise((r) => (firstDone = r));
      async function* source() {
        for (let i = 0; i < m; i++) {
          if (i === m - 1) await firstResult;
          else if (i % 4 === 0) await new Promise((r) => setTimeout(r, 1));
          yield 100 + i;
        }
      }
      const totals = [];
      const subs = Promise.all(range(5).map((i) => p.submit(1000 + i)));
      const second = await collect(p.map(source(), { chunk: 3, ordered: false, progress: (d, t) => (totals.push(t), firstDone()) }));
      assert.deepEqual(second.map((r) => r.index).sort((a, b) => a - b), range(m));
      for (const r of second) assert.equal(r.value.v, (100 + r.index) ** 2, `item ${r.index}`);
      assert.equal(totals.length, m);
      assert.equal(totals[0], undefined, 'the total is not known while the source runs');
      assert.equal(totals.at(-1), m, 'the total once the source ended');
      assert.deepEqual((await subs).map((r) => r.v), range(5).map((i) => (1000 + i) ** 2));
      ran.push(...second.map((r) => r.value));
      // close() with tasks in flight waits for them; a second close() is the same promise
      const late = range(2 * workers + 1).map((i) => p.submit(i));
      const closing = p.close();
      assert.equal(p.close(), closing);
      await closing;
      assert.deepEqual((await Promise.all(late)).map((r) => r.v), range(2 * workers + 1).map((i) => i * i));
      await rejects(p.submit(1), 'ERR_FINALIZED', /pool\.submit: the pool is closed/);
      await rejects(collect(p.map([1])), 'ERR_FINALIZED', /pool\.map: the pool is closed/);
    } else assert.equal(p, null);
    // every worker rank and every worker host ran tasks (rank 0 itself in a world of one)
    const hosts = await w.allgather(w.hostname);
    if (w.rank === 0) {
      const workerRanks = w.size === 1 ? [0] : range(w.size).slice(1);
      assert.deepEqual([...new Set(ran.map((r) => r.rank))].sort((a, b) => a - b), workerRanks);
      assert.deepEqual([...new Set(ran.map((r) => r.host))].sort(), [...new Set(workerRanks.map((r) => hosts[r]))].sort());
    }
  }],

  ['pool: a task that throws fails that task only (name, message, stack, rank, host); values of every kind travel; leaving a map early', async (w) => {
    const p = await Pool.start(w, { module: TASKS, export: 'faulty' });
    if (w.rank !== 0) return assert.equal(p, null);
    const workers = w.size === 1 ? [0] : range(w.size).slice(1);
    const items = [0, -1, 2, 'code', 'str', 'fn', new Float64Array([1.5, -2]), new Map([[1, 'a']]), 4n, -5];
    const out = await collect(p.map(items, { chunk: 2 }));
    assert.deepEqual(out.map((r) => r.index), range(items.length));
    assert.equal(out[0].value, 0);
    const e = out[1].error;
    assert.ok(e instanceof TaskError, String(e));
    assert.equal(e.name, 'RangeError');
    assert.equal(e.taskMessage, 'bad item -1');
    assert.equal(e.index, 1);
    assert.ok(workers.includes(e.rank), `rank ${e.rank}`);
    assert.equal(typeof e.host, 'string');
    assert.match(e.message, new RegExp(`^bad item -1 \\(pool task 1 on rank ${e.rank}, host ${e.host}\\)$`));
    assert.match(e.stack, /^RangeError: bad item -1 \(pool task 1/);
    assert.match(e.stack, /pool-tasks\.mjs/, 'the stack is the worker\'s');
    assert.equal(out[2].value, 2);
    assert.equal(out[3].error.code, 'E_TASK');
    assert.match(out[4].error.message, /non-Error value: a string/);
    if (w.size > 1) {
      assert.equal(out[5].error.name, 'TypeError');
      assert.match(out[5].error.message, /the task's value cannot be sent from rank \d+: cannot send a function/);
    } else assert.equal(typeof out[5].value, 'function', 'in a world of one values are not copied');
    assert.ok(out[6].value instanceof Float64Array);
    assert.deepEqual([...out[6].value], [1.5, -2]);
    assert.deepEqual(out[7].value, new Map([[1, 'a']]));
    assert.equal(out[8].value, 4n);
    assert.equal(out[9].error.name, 'RangeError');
    // submit: rejects with the task's error, and the pool still serves
    await assert.rejects(p.submit(-7), (err) => err instanceof TaskError && err.name === 'RangeError' && /bad item -7/.test(err.message));
    assert.equal(await p.submit(9), 9);
    if (w.size > 1) {
      // an item that cannot travel fails alone, also inside a chunk
      await rejects(p.submit(() => 1), 'TypeError', /^pool\.submit: item \d+ cannot be sent to rank \d+: cannot send a function/);
      const mixed = await collect(p.map([1, Symbol('s'), 3], { chunk: 3 }));
      assert.deepEqual(mixed.map((r) => r.value), [1, undefined, 3]);
      assert.match(mixed[1].error.message, /^pool\.map: item 1 cannot be sent/);
    }
    // leave a map early: the rest is dropped, the next map works
    for await (const r of p.map(range(200))) if (r.index === 2) break;
    assert.deepEqual((await collect(p.map([3, 5]))).map((r) => r.value), [3, 5]);
    // map's options and items
    assert.throws(() => p.map([1], { chunk: 0 }), (err) => err instanceof TypeError && /^pool\.map: options\.chunk must be a positive integer, got 0 \(called on rank 0\)$/.test(err.message));
    assert.throws(() => p.map([1], { order: false }), /pool\.map: unknown option "order"/);
    assert.throws(() => p.map([1], { progress: 1 }), /options\.progress must be a function/);
    assert.throws(() => p.map(5), /pool\.map: items must be an Array or an \(async\) iterable, got number/);
    await rejects(p.close({ timeoutMs: -1 }), 'TypeError', /pool\.close: options\.timeoutMs must be a non-negative number/);
    await p.close();
  }],

  ['pool: bad options and task modules that do not load fail Pool.start on every rank, naming the rank and host', async (w) => {
    const first = w.size === 1 ? 0 : 1; // the lowest rank that loads the module
    await rejects(Pool.start(w, {}), 'TypeError', /^Pool\.start: options\.module is missing/);
    await rejects(Pool.start(w, { module: TASKS, expor: 'square' }), 'TypeError', /^Pool\.start: unknown option "expor"/);
    await rejects(Pool.start(w, { module: TASKS, inflight: 0 }), 'TypeError', /options\.inflight must be a positive integer/);
    await rejects(
      Pool.start(w, { module: TASKS, export: 'notAFunction' }),
      'ERR_ARG',
      new RegExp(`^Pool\\.start: rank ${first} on host \\S+: the task module \\S+pool-tasks\\.mjs has no function export "notAFunction" \\(it is a number; function exports: fault, faulty, square\\)`),
    );
    await rejects(Pool.start(w, { module: new URL('./no-such-tasks.mjs', import.meta.url) }), 'ERR_ARG', new RegExp(`^Pool\\.start: rank ${first} on host \\S+: could not import the task module \\S+no-such-tasks\\.mjs`));
    if (w.size > 2) await rejects(Pool.start(w, { module: new URL('./no-such-tasks.mjs', import.meta.url) }), 'ERR_ARG', /\(also on ranks? 2 \(host /);
    await rejects(Pool.start(w, { module: process.argv[1] }), 'ERR_ARG', /is the program's main script/);
    await rejects(Pool.start({ rank: 0, size: 1 }, { module: TASKS }), 'TypeError', /^Pool\.start: the first argument must be a communicator/);
    // the world still works after all that
    assert.equal(await w.allreduce(1), w.size);
  }],
];
