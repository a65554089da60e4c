// Conformance checks, errors: bad arguments name the call, unencodable values fail before
// anything is sent, bad reduction operands, and a collective that fails on one rank fails on
// every member.
import assert from 'node:assert/strict';
import { ANY_SOURCE } from 'orchid-mpi';
import { rejects } from './common.mjs';

export const errors = [
  ['errors: bad rank, tag and root name the call', async (w) => {
    await rejects(w.send(1, w.size), 'ERR_RANK', /send: .*rank/);
    await rejects(w.send(1, -1), 'ERR_RANK');
    await rejects(w.recv(1.5), 'ERR_RANK', /recv/);
    await rejects(w.send(1, 0, -3), 'ERR_TAG', /send: tag -3/);
    await rejects(w.send(1, 0, 2 ** 31), 'ERR_TAG');
    await rejects(w.recv(0, 'x'), 'ERR_TAG');
    assert.throws(() => w.isend(1, 0, -1), (e) => e.code === 'ERR_TAG' && /isend/.test(e.message));
    assert.throws(() => w.irecv(w.size), (e) => e.code === 'ERR_RANK' && /irecv/.test(e.message));
    assert.throws(() => w.iprobe(w.size + 3), (e) => e.code === 'ERR_RANK');
    await rejects(w.bcast(1, w.size), 'ERR_ROOT', /bcast: root/);
    await rejects(w.reduce(1, 'sum', -1), 'ERR_ROOT');
    await rejects(w.gather(1, w.size + 1), 'ERR_ROOT');
    await rejects(w.scatter([], 99), 'ERR_ROOT');
  }],

  ['errors: a value that cannot be encoded is a TypeError before anything is sent', async (w) => {
    const right = (w.rank + 1) % w.size;
    await rejects(w.send(() => 1, right, 51), 'TypeError', /send/);
    await rejects(w.send({ f: () => 1 }, right, 51), 'TypeError', /send/);
    await rejects(w.send(Symbol('s'), right, 51), 'TypeError', /send/);
    assert.throws(() => w.isend(() => 1, right, 51), TypeError);
    await w.barrier();
    assert.equal(w.iprobe(ANY_SOURCE, 51), undefined, 'something was sent');
  }],

  ['errors: reduction ops', async (w) => {
    await rejects(w.allreduce(new Float64Array([1]), 'band'), 'TypeError', /allreduce/);
    await rejects(w.allreduce(1.5, 'bxor'), 'TypeError', /allreduce/);
    await rejects(w.allreduce(1, 'nope'), 'TypeError', /allreduce/);
    await rejects(w.reduce('str', 'sum'), 'TypeError', /reduce/);
    await w.barrier();
  }],

  ['errors: mismatched typed-array lengths in allreduce reach every rank', async (w) => {
    if (w.size === 1) return;
    for (const base of [4, 1 << 15]) {
      const len = w.rank === w.size - 1 ? base + 1 : base;
      await rejects(w.allreduce(new Float64Array(len), 'sum'), 'ERR_COUNT', /allreduce/);
    }
    // the communicator still works afterwards for point to point
    const right = (w.rank + 1) % w.size;
    const left = (w.rank - 1 + w.size) % w.size;
    const [, v] = await Promise.all([w.send('ok', right, 61), w.recv(left, 61)]);
    assert.equal(v, 'ok');
  }],

  ['errors: scatter counts', async (w) => {
    if (w.size === 1) return;
    const d = await w.dup();
    await rejects(d.scatter(w.rank === 0 ? new Float64Array(w.size + 1) : undefined, 0), 'ERR_COUNT', /scatter/);
    const d2 = await w.dup();
    await rejects(d2.scatter(w.rank === 0 ? [1] : undefined, 0), 'ERR_COUNT', /scatter/);
  }],
];
