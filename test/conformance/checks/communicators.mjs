// Conformance checks, communicators: the world init() gives, split/dup with their own
// contexts and ranks, splitShared by host.
import assert from 'node:assert/strict';
import { wtick, wtime } from 'orchid-mpi';
import { range } from './common.mjs';

export const communicators = [
  ['wtime: seconds on one time base, monotonic; wtick: its error bound', async (w) => {
    const a = wtime();
    const b = wtime();
    assert.ok(b >= a && a > 1.6e9, `wtime() is epoch seconds: ${a}`);
    assert.ok(wtick() > 0 && wtick() < 0.5, `wtick() ${wtick()}`);
    // every rank's clock agrees with rank 0's within the job's error bounds and a barrier's skew
    const t0 = await w.bcast(w.rank === 0 ? wtime() : undefined, 0);
    const now = wtime();
    assert.ok(now >= t0 - 2 * (await w.allreduce(wtick(), 'max')) - 0.05, `rank ${w.rank}: ${now} is before rank 0's ${t0}`);
    assert.ok(now - t0 < 30, 'within the same half minute');
  }],
  ['init: rank, size, hostname', async (w) => {
    assert.ok(Number.isInteger(w.rank) && w.rank >= 0 && w.rank < w.size);
    assert.equal(typeof w.hostname, 'string');
    assert.ok(w.hostname.length > 0);
    if (process.env.ORCHID_SIZE) assert.equal(w.size, Number(process.env.ORCHID_SIZE));
  }],

  ['split, dup: new contexts, own ranks, no cross-talk', async (w) => {
    const color = w.rank % 2;
    const sub = await w.split(color, -w.rank); // key reverses the order
    const members = range(w.size).filter((r) => r % 2 === color);
    assert.equal(sub.size, members.length);
    assert.equal(sub.rank, members.length - 1 - members.indexOf(w.rank));
    assert.equal(await sub.allreduce(1), members.length);
    const d = await w.dup();
    assert.equal(d.size, w.size);
    assert.equal(d.rank, w.rank);
    // the same tag on two communicators: each recv gets its own communicator's message
    const right = (w.rank + 1) % w.size;
    const left = (w.rank - 1 + w.size) % w.size;
    await Promise.all([w.send('world', right, 1), d.send('dup', right, 1)]);
    assert.equal(await d.recv(left, 1), 'dup');
    assert.equal(await w.recv(left, 1), 'world');
    const none = await w.split(w.rank === 0 ? -1 : 0);
    if (w.rank === 0) assert.equal(none, null);
    else assert.equal(none.size, w.size - 1);
    const nested = await sub.dup();
    assert.equal(await nested.allreduce(w.rank), members.reduce((a, b) => a + b, 0));
  }],

  ['splitShared groups the ranks of a host', async (w) => {
    const node = await w.splitShared();
    const hosts = await w.allgather(w.hostname);
    const mine = hosts.filter((h) => h === w.hostname).length;
    assert.equal(node.size, mine);
    assert.equal(node.hostname, w.hostname);
    if (process.env.ORCHID_LOCAL_SIZE) {
      assert.equal(node.size, Number(process.env.ORCHID_LOCAL_SIZE));
      assert.equal(node.rank, Number(process.env.ORCHID_LOCAL_RANK));
    }
  }],

  ['split: colours and keys are any integers, the same communicators on every transport', async (w) => {
    const n = w.size;
    // colours and keys beyond 32 bits: no wrapping into other colours, negatives or other orders
    const all = await w.split(2 ** 31);
    assert.ok(all, 'split(2**31) gives a communicator (a colour, not MPI_UNDEFINED)');
    assert.equal(all.size, n);
    assert.equal(all.rank, w.rank);
    const big = await w.split(w.rank === 0 ? 2 ** 32 : 0);
    assert.equal(big.size, w.rank === 0 ? 1 : n - 1, 'split(2**32) on rank 0 is not colour 0');
    assert.equal(await big.allreduce(1), big.size);
    const rev = await w.split(0, (n - w.rank) * 2 ** 30);
    assert.equal(rev.size, n);
    assert.equal(rev.rank, n - 1 - w.rank, 'keys (size - rank) * 2**30 order the ranks in reverse');
    const huge = await w.split(w.rank % 2 === 0 ? Number.MAX_SAFE_INTEGER : -(2 ** 40), -(2 ** 52) * (w.rank + 1));
    if (w.rank % 2 === 0) {
      const members = range(n).filter((r) => r % 2 === 0);
      assert.equal(huge.size, members.length);
      assert.equal(huge.rank, members.length - 1 - members.indexOf(w.rank));
    } else assert.equal(huge, null, 'a negative colour (not only -1) gives null');
    // every negative colour is "no communicator"; colours need not be small or dense
    const neg = await w.split(w.rank === n - 1 ? -7 : 1000 * (w.rank % 2));
    if (w.rank === n - 1) assert.equal(neg, null);
    else assert.equal(neg.size, range(n - 1).filter((r) => r % 2 === w.rank % 2).length);
    // not integers: TypeError, before any communication
    await assert.rejects(w.split(1.5), TypeError);
    await assert.rejects(w.split(0, Infinity), TypeError);
  }],
];
