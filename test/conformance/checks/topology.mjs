// Conformance checks, Cartesian grids: dimsCreate, cart() with coords, rankOf, coordsOf and
// shift, a halo exchange along every dimension with shift + sendrecv, sub(), dup(), the ranks
// beyond the grid, bad arguments. Any world size >= 1.
import assert from 'node:assert/strict';
import { CartComm, dimsCreate } from 'orchid-mpi';
import { range, rejects } from './common.mjs';

const prod = (xs) => xs.reduce((a, b) => a * b, 1);

export const topology = [
  ['dimsCreate: balanced, non-increasing, zeros filled (MPI_Dims_create)', async () => {
    assert.deepEqual(dimsCreate(6, 2), [3, 2]);
    assert.deepEqual(dimsCreate(12, 2), [4, 3]);
    assert.deepEqual(dimsCreate(72, 2), [9, 8]);
    assert.deepEqual(dimsCreate(7, 2), [7, 1]);
    assert.deepEqual(dimsCreate(24, 3), [4, 3, 2]);
    assert.deepEqual(dimsCreate(16, 4), [2, 2, 2, 2]);
    assert.deepEqual(dimsCreate(6, 3), [3, 2, 1]);
    assert.deepEqual(dimsCreate(1, 3), [1, 1, 1]);
    assert.deepEqual(dimsCreate(24, 3, [0, 3, 0]), [4, 3, 2]);
    assert.deepEqual(dimsCreate(12, 2, [2, 6]), [2, 6]);
    assert.deepEqual(dimsCreate(1, 0), []);
    assert.throws(() => dimsCreate(10, 2, [3, 0]), (e) => e.code === 'ERR_ARG' && /dimsCreate/.test(e.message));
    assert.throws(() => dimsCreate(6, 2, [2, 2]), (e) => e.code === 'ERR_ARG');
    assert.throws(() => dimsCreate(6, 2, [0]), (e) => e.code === 'ERR_ARG');
    assert.throws(() => dimsCreate(0, 2), TypeError);
    assert.throws(() => dimsCreate(4, 2, [-1, 0]), TypeError);
  }],

  ['cart: coords, rankOf, coordsOf, shift on a 2-D grid of every rank', async (w) => {
    const dims = dimsCreate(w.size, 2);
    const g = await w.cart(dims, [true, false]);
    assert.ok(g instanceof CartComm);
    assert.equal(g.size, w.size);
    assert.equal(g.rank, w.rank, 'ranks keep their order');
    assert.deepEqual(g.dims, dims);
    assert.deepEqual(g.periods, [true, false]);
    assert.equal(g.ndims, 2);
    const [r, c] = [Math.floor(w.rank / dims[1]), w.rank % dims[1]]; // row-major
    assert.deepEqual(g.coords, [r, c]);
    for (const q of range(w.size)) assert.equal(g.rankOf(g.coordsOf(q)), q);
    // dimension 0 wraps, dimension 1 does not
    assert.equal(g.rankOf([r - dims[0], c]), w.rank);
    assert.equal(g.rankOf([r + 1, c]), ((r + 1) % dims[0]) * dims[1] + c);
    assert.throws(() => g.rankOf([r, dims[1]]), (e) => e.code === 'ERR_RANK' && /rankOf/.test(e.message) && /not periodic/.test(e.message));
    assert.throws(() => g.rankOf([r, -1]), (e) => e.code === 'ERR_RANK');
    assert.throws(() => g.rankOf([r]), TypeError);
    assert.throws(() => g.coordsOf(w.size), (e) => e.code === 'ERR_RANK' && /coordsOf/.test(e.message));
    const s0 = g.shift(0, 1);
    assert.deepEqual(s0, { source: g.rankOf([r - 1, c]), dest: g.rankOf([r + 1, c]) });
    const s1 = g.shift(1, 1);
    assert.equal(s1.source, c === 0 ? null : w.rank - 1, 'null off the low edge of a non-periodic dimension');
    assert.equal(s1.dest, c === dims[1] - 1 ? null : w.rank + 1);
    const s2 = g.shift(1, -2);
    assert.equal(s2.source, c + 2 < dims[1] ? w.rank + 2 : null);
    assert.equal(s2.dest, c - 2 >= 0 ? w.rank - 2 : null);
    assert.deepEqual(g.shift(0, dims[0]), { source: w.rank, dest: w.rank });
    assert.throws(() => g.shift(2, 1), (e) => e.code === 'ERR_ARG' && /shift/.test(e.message));
    assert.throws(() => g.shift(0, 0.5), TypeError);
    // it is a communicator of its own
    assert.equal(await g.allreduce(1), w.size);
  }],

  ['cart: halo exchange along every dimension with shift and sendrecv (null edges send and receive nothing)', async (w) => {
    for (const nd of [1, 2, 3]) {
      const dims = dimsCreate(w.size, nd);
      const periods = dims.map((_, i) => i % 2 === 0);
      const g = await w.cart(dims, periods);
      for (let d = 0; d < nd; d++) {
        const { source, dest } = g.shift(d, 1);
        const got = await g.sendrecv({ from: g.rank, coords: g.coords }, dest, source, 7 + d, 7 + d);
        if (source === null) assert.equal(got, undefined);
        else {
          assert.equal(got.from, source);
          const want = [...g.coords];
          want[d] = periods[d] ? (want[d] - 1 + dims[d]) % dims[d] : want[d] - 1;
          assert.deepEqual(got.coords, want);
        }
        const back = await g.sendrecv(new Float64Array([g.rank]), source, dest, 20 + d, 20 + d);
        if (dest === null) assert.equal(back, undefined);
        else assert.equal(back[0], dest);
      }
    }
  }],

  ['cart: the ranks beyond the grid get null; sub() and dup() keep the topology', async (w) => {
    const n = Math.max(1, w.size - 1);
    const g = await w.cart([n], [false]);
    if (w.rank >= n) assert.equal(g, null);
    else {
      assert.equal(g.size, n);
      assert.deepEqual(g.coords, [w.rank]);
      assert.equal(await g.allreduce(w.rank), (n * (n - 1)) / 2);
    }
    // a 3-D grid cut into rows, planes and single ranks
    const dims = dimsCreate(w.size, 3);
    const cube = await w.cart(dims, [false, true, false]);
    const [a, b, c] = cube.coords;
    const rows = await cube.sub([false, false, true]);
    assert.deepEqual(rows.dims, [dims[2]]);
    assert.deepEqual(rows.periods, [false]);
    assert.deepEqual(rows.coords, [c]);
    assert.equal(rows.size, dims[2]);
    assert.deepEqual(await rows.allgather(cube.rank), range(dims[2]).map((k) => cube.rankOf([a, b, k])));
    const planes = await cube.sub([true, true, false]);
    assert.deepEqual(planes.dims, [dims[0], dims[1]]);
    assert.deepEqual(planes.periods, [false, true]);
    assert.deepEqual(planes.coords, [a, b]);
    assert.equal(await planes.allreduce(c), c * dims[0] * dims[1], 'every member shares the dropped coordinate');
    const one = await cube.sub([false, false, false]);
    assert.equal(one.size, 1);
    assert.deepEqual(one.dims, []);
    assert.deepEqual(one.coords, []);
    const d = await cube.dup();
    assert.ok(d instanceof CartComm);
    assert.deepEqual([d.dims, d.periods, d.coords], [cube.dims, cube.periods, cube.coords]);
    // a split of a grid is a plain communicator
    const s = await cube.split(0);
    assert.ok(!(s instanceof CartComm));
    assert.equal(prod(cube.dims), w.size);
  }],

  ['cart: bad arguments fail on every rank, none hangs', async (w) => {
    await rejects(w.cart([w.size + 1]), 'ERR_ARG', /cart: .*needs/);
    await rejects(w.cart([0, w.size]), 'ERR_ARG', /cart/);
    await rejects(w.cart([w.size], [true, false]), 'ERR_ARG', /periods/);
    await rejects(w.cart([1.5]), 'TypeError', /cart/);
    await rejects(w.cart([w.size], ['yes']), 'TypeError', /periods/);
    await rejects(w.cart([w.size], [false], 1), 'TypeError', /reorder/);
    const g = await w.cart([w.size], [false], true);
    await rejects(g.sub([true, true]), 'TypeError', /cart\.sub/);
    if (w.size > 1) {
      // only the last rank asks for another grid: it is told, and the others do not hang
      const bad = w.cart(w.rank === w.size - 1 ? [1, w.size] : [w.size, 1]);
      await rejects(bad, 'ERR_COLLECTIVE', /cart: rank \d+ asked for a grid of/);
    }
    assert.equal(await w.allreduce(1), w.size, 'the world works afterwards');
  }],
];
