// What the kernel sees of the addon's memory, watched from outside the ranks: large receive
// buffers on transparent huge pages (/proc's AnonHugePages), and no brk() from UCX's memory
// hooks (strace -k). Both look at the host's kernel, so under qemu-user they would see the
// emulator rather than the program: the aarch64 lane (test/aarch64/lane.mjs) leaves this file
// out; npm test and .ci/run's loop over the addon builds run it. Skips (with the reason)
// without the addon.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { addon, fastPaths, findMpiexec, needsAddon } from './helpers/native.mjs';
import { ROOT, TIME_SCALE } from './helpers/run.mjs';

const NATIVE = join(ROOT, 'test/native');
const flavor = addon?.flavor;
const thp = (() => {
  try {
    return /\[(\w+)\]/.exec(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))[1];
  } catch {
    return 'absent';
  }
})();

test('mpi: large receive buffers sit on transparent huge pages (not with ORCHID_MPI_HUGEPAGES=0)', { skip: needsAddon || (thp !== 'madvise' && thp !== 'always' ? `transparent huge pages are ${thp} here` : false) }, async () => {
  const on = await fastPaths();
  assert.equal(on.bigOk, true);
  assert.ok(on.hugeKB >= 2048, `AnonHugePages ${on.hugeKB} kB with 32 MiB received`);
  if (thp === 'madvise') {
    const off = await fastPaths({ ORCHID_MPI_HUGEPAGES: '0' });
    assert.equal(off.bigOk, true);
    assert.ok(off.hugeKB < on.hugeKB, `AnonHugePages ${off.hugeKB} kB without, ${on.hugeKB} kB with`);
  }
});

/** Runs heap-break.mjs on 2 ranks under `strace -k`; returns rank 0's report and the brk() calls made from UCX's code. */
async function brkCallsOfUcx(extraEnv) {
  const exec = findMpiexec(flavor).path;
  const dir = mkdtempSync(join(tmpdir(), 'orchid-brk-'));
  const env = { ...process.env, ...extraEnv, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };
  if (!extraEnv.UCX_MEM_EVENTS) delete env.UCX_MEM_EVENTS;
  for (const k of Object.keys(env)) if (k.startsWith('ORCHID_') && k !== 'ORCHID_MPI_ADDON') delete env[k];
  const extra = flavor === 'openmpi' ? ['--oversubscribe'] : [];
  const args = ['-n', '2', ...extra, 'strace', '-f', '-k', '-e', 'trace=brk', '-o', join(dir, 'brk'), '-ff', process.execPath, join(NATIVE, 'heap-break.mjs')];
  const r = spawnSync(exec, args, { env, encoding: 'utf8', timeout: 120_000 * TIME_SCALE });
  assert.equal(r.status, 0, r.stderr);
  const report = JSON.parse(r.stdout.trim().split('\n').find((l) => l.startsWith('{')));
  const fromUcx = [];
  for (const f of readdirSync(dir)) {
    // one syscall line, then its stack, one ` > frame` line each
    for (const call of readFileSync(join(dir, f), 'utf8').split(/\n(?=brk\()/)) if (call.startsWith('brk(') && /libucm/.test(call)) fromUcx.push(call.split('\n').slice(0, 4).join('\n'));
  }
  return { report, fromUcx };
}

const straceK = spawnSync('strace', ['-k', '-e', 'trace=none', 'true']).status === 0 ? false : 'strace with stack traces (-k) is not installed (apt-get install strace)';
test('mpi: UCX never moves the heap break behind malloc (its memory hooks are off)', { skip: needsAddon || straceK }, async (t) => {
  // UCX's hook self-test does sbrk(+page), sbrk(-page) outside malloc's lock; with V8's threads
  // allocating at the same time that cut a fresh heap growth off and ranks crashed (SIGSEGV).
  const { report, fromUcx } = await brkCallsOfUcx({});
  if (!report.ucx) {
    assert.ok(!(process.env.CI && flavor === 'mpich'), "CI's MPICH (ch4:ucx) should have mapped UCX");
    t.diagnostic(`this ${flavor} does not use UCX: nothing to check`);
    return;
  }
  assert.equal(report.memEvents, 'no');
  assert.deepEqual(fromUcx, [], 'UCX called brk()');
  // the check can fail: with UCX's memory events on, its hooks call brk() from inside UCX
  const on = await brkCallsOfUcx({ UCX_MEM_EVENTS: 'yes' });
  assert.equal(on.report.memEvents, 'yes');
  assert.ok(on.fromUcx.length > 0, 'with UCX_MEM_EVENTS=yes no brk() from UCX was seen: the check is blind');
});
