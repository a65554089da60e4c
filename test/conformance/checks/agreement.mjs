// Conformance checks, collectives that must agree: calls that differ across ranks (kind,
// root, op, operand kind) and operands that differ fail on EVERY member, none hangs and none
// returns an answer (ERR_COLLECTIVE names both calls). Each case is one call per rank, so
// the communicator stays in step and is used again afterwards.
import assert from 'node:assert/strict';
import { rejects } from './common.mjs';

const COLL = /ERR_COLLECTIVE|matched/;

/** Every rank runs `mine(w)`: it must reject with `code` (and `re`). */
async function fails(w, mine, code, re) {
  await rejects(Promise.resolve().then(() => mine(w)), code, re);
}

/** The communicator still works: a correct collective after the failures. */
async function stillWorks(w) {
  assert.equal(await w.allreduce(1, 'sum'), w.size);
}

export const agreement = [
  ['agreement: bcast on some ranks against allreduce on the others fails on every rank', async (w) => {
    if (w.size === 1) return;
    const half = w.size >> 1;
    await fails(w, () => (w.rank < half ? w.bcast('hello', 0) : w.allreduce(1, 'sum')), 'ERR_COLLECTIVE', /bcast\(root 0\)[^]*allreduce\(op sum|allreduce\(op sum[^]*bcast\(root 0\)/);
    await stillWorks(w);
  }],

  ['agreement: bcast with a different root per rank fails on every rank', async (w) => {
    if (w.size === 1) return;
    await fails(w, () => w.bcast(w.rank, w.rank % 2 ? 0 : w.size - 1), 'ERR_COLLECTIVE', /bcast\(root \d+\) on rank \d+ matched bcast\(root \d+\) on rank \d+/);
    // every root receiving nothing: each rank names a root that is not itself
    await fails(w, () => w.bcast(w.rank, (w.rank + 1) % w.size), 'ERR_COLLECTIVE', /bcast\(root/);
    await stillWorks(w);
  }],

  ['agreement: barrier and allreduce in swapped order fail on every rank', async (w) => {
    if (w.size === 1) return;
    const odd = w.rank % 2 === 1;
    await fails(w, () => (odd ? w.barrier() : w.allreduce(1, 'sum')), 'ERR_COLLECTIVE', /barrier\(\)[^]*allreduce|allreduce[^]*barrier\(\)/);
    await fails(w, () => (odd ? w.allreduce(1, 'sum') : w.barrier()), 'ERR_COLLECTIVE', COLL);
    await stillWorks(w);
  }],

  ['agreement: gather at the root against scatter elsewhere fails on every rank', async (w) => {
    if (w.size === 1) return;
    await fails(w, () => (w.rank === 0 ? w.gather(1, 0) : w.scatter(undefined, 0)), 'ERR_COLLECTIVE', /gather\(root 0\)[^]*scatter\(root 0\)|scatter\(root 0\)[^]*gather\(root 0\)/);
    await fails(w, () => (w.rank === 0 ? w.reduce(1, 'sum', 0) : w.reduce(1, 'max', 0)), 'ERR_COLLECTIVE', /op max[^]*op sum|op sum[^]*op max/);
    await stillWorks(w);
  }],

  ['agreement: operands that differ across ranks fail on every rank', async (w) => {
    if (w.size === 1) return;
    const r = w.rank;
    const last = w.size - 1;
    // a value one rank cannot reduce: that rank's TypeError, everywhere
    await fails(w, () => w.allreduce(r === 0 ? 'x' : 1, 'sum'), 'TypeError', /allreduce/);
    await fails(w, () => w.reduce(r === last ? 'x' : 1, 'sum', 0), 'TypeError', /reduce/);
    await fails(w, () => w.scan(r === last ? 'x' : 1, 'sum'), 'TypeError', /scan/);
    await fails(w, () => w.exscan(r === last ? 'x' : 1, 'sum'), 'TypeError', /exscan/);
    // operands each rank could reduce, of kinds that differ: ERR_COLLECTIVE naming both
    await fails(w, () => w.allreduce(r === 0 ? 1n : 1, 'sum'), 'ERR_COLLECTIVE', /bigint[^]*number|number[^]*bigint/);
    await fails(w, () => w.allreduce(r === 0 ? new Float64Array([1]) : 1, 'sum'), 'ERR_COLLECTIVE', /Float64Array/);
    await fails(w, () => w.allreduce(r === 0 ? [1, 2] : 1, 'sum'), 'ERR_COLLECTIVE', /Array/);
    await fails(w, () => w.allreduce(r === 0 ? new Float64Array([1, 2]) : new Int32Array([1, 2]), 'bor'), 'TypeError', /allreduce/);
    await fails(w, () => w.allreduce(r === 0 ? new Float64Array([1, 2]) : new Int32Array([1, 2]), 'sum'), 'ERR_COLLECTIVE', /Int32Array[^]*Float64Array|Float64Array[^]*Int32Array/);
    await fails(w, () => w.allreduce(r === last ? 2 : 1, r === last ? 'max' : 'sum'), 'ERR_COLLECTIVE', /op max/);
    // lengths that differ: ERR_COUNT on every rank, also on the ranks that finish their part first
    await fails(w, () => w.reduce(new Int32Array(r === 0 ? 2 : 3), 'sum', 0), 'ERR_COUNT', /reduce/);
    await fails(w, () => w.reduce(new Int32Array(r === last ? 2 : 3), 'sum', 0), 'ERR_COUNT', /reduce/);
    await fails(w, () => w.scan(new Float64Array(r === last ? 2 : 3), 'sum'), 'ERR_COUNT', /scan/);
    await stillWorks(w);
  }],

  ['agreement: a Buffer on some ranks and a Uint8Array on others reduce together', async (w) => {
    const mine = w.rank % 2 === 0 ? Buffer.from([1, 2]) : new Uint8Array([1, 2]);
    const got = await w.allreduce(mine, 'sum');
    assert.deepEqual(Array.from(got), [w.size, 2 * w.size]);
    const red = await w.reduce(mine, 'max', 0);
    if (w.rank === 0) assert.deepEqual(Array.from(red), [1, 2]);
    else assert.equal(red, undefined);
  }],

  ['agreement: a custom op may reduce operands of different kinds', async (w) => {
    const got = await w.allreduce(w.rank === 0 ? [w.rank] : w.rank, (a, b) => [].concat(a, b));
    assert.deepEqual(got, Array.from({ length: w.size }, (_, i) => i));
  }],
];
