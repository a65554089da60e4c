// The mpi transport's fast paths (test/native/fast-paths.mjs under the addon's mpiexec, 2 ranks):
// a small allreduce is one MPI call, the agreement of every other collective one more; a
// message that is already there is handed over in one microtask turn (no promise per layer);
// large receive buffers ask for transparent huge pages. Skips (with the reason) without the addon.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, run } from './helpers/run.mjs';

const { loadAddon } = await import('../dist/transport/mpi/addon.js');
const { findMpiexec } = await import('../dist/launcher/mpiexec.js');
const { addon, error } = loadAddon();
const skip = process.env.CI ? false : addon ? false : `the addon is not built: ${error}`;
const thp = (() => {
  try {
    return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))[1];
  } catch {
    return 'absent';
  }
})();

async function fastPaths(env = {}) {
  const extra = addon.flavor === 'openmpi' ? ['--oversubscribe', '--allow-run-as-root'] : [];
  const r = await run(findMpiexec(addon.flavor).path, ['-n', '2', ...extra, process.execPath, join(ROOT, 'test/native/fast-paths.mjs')], {
    env: { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', ...env },
    timeoutMs: 60_000,
  });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

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

test('mpi: large receive buffers sit on transparent huge pages (not with ORCHID_MPI_HUGEPAGES=0)', { skip: skip || (thp !== 'madvise' && thp !== 'always' ? `transparent huge pages are ${thp} here` : false) }, async () => {
  const on = await fastPaths();
  assert.equal(on.bigOk, true);
  assert.ok(on.hugeKB >= 2048, `AnonHugePages ${on.hugeKB} kB with 32 MiB received`);
  if (thp === 'madvise') {
    const off = await fastPaths({ ORCHID_MPI_HUGEPAGES: '0' });
    assert.equal(off.bigOk, true);
    assert.ok(off.hugeKB < on.hugeKB, `AnonHugePages ${off.hugeKB} kB without, ${on.hugeKB} kB with`);
  }
});
