// The mpi transport's fast paths (test/native/fast-paths.mjs under the addon's mpiexec, 2 ranks):
// a small allreduce is one MPI call, the agreement of every other collective one more; a
// message that is already there is handed over in one microtask turn (no promise per layer).
// Whether large receive buffers land on huge pages is in native-memory.test.mjs. Skips (with
// the reason) without the addon.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fastPaths, needsAddon as skip } from './helpers/native.mjs';

test('mpi: a small allreduce is one MPI call with its agreement; larger operands and barrier as counted', { skip }, async () => {
  const o = await fastPaths();
  assert.deepEqual(o.allreduceNumber, { calls: 1, value: 4 });
  assert.deepEqual(o.allreduceF64, { calls: 1, value: [1, 2] });
  assert.deepEqual(o.allreduceLarge, { calls: 2, value: 2 }, 'the agreement block, then MPI_Iallreduce on the arrays');
  assert.deepEqual(o.barrier, { calls: 1 });
});

test('mpi: a message that is already there is handed over in one microtask turn', { skip }, async () => {
  const o = await fastPaths();
  assert.deepEqual(o.recvTurns.got, { hello: 1 });
  assert.ok(o.recvTurns.turns <= 2, `await recv() took ${o.recvTurns.turns} microtask turns`);
});
