// Conformance checks, communicators: the world init() gives, split/dup with their own
// contexts and ranks, splitShared by host.
import assert from 'node:assert/strict';
import { range } from './common.mjs';

export const communicators = [
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
];
