// Fault injection on real jobs: ranks that throw, crash, leave early, abort or are killed,
// and a launcher killed with SIGKILL. Every rank prints its pid (and its proxy's), so the
// tests check by pid that nothing is left alive. Time bounds are generous and only catch hangs.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { isAlive, orchidrun, ROOT, startOrchidrun, waitDead } from './helpers/run.mjs';

const FAULTS = join(ROOT, 'test/programs/faults');
const PROG = 'fault.mjs';
const opts = { cwd: FAULTS, timeoutMs: 20_000 }; // catches a hang; a fault ends a job in about a second

const pidsOf = (text) => [...text.matchAll(/^pid (\d+) ppid (\d+) rank (\d+)$/gm)].map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), rank: Number(m[3]) }));
const launcherLines = (stderr) => stderr.split('\n').filter((l) => l.startsWith('orchidrun:'));

/** All rank and proxy pids of a finished run are gone within a few seconds. */
async function assertAllGone(stdout, n) {
  const procs = pidsOf(stdout);
  assert.equal(procs.length, n, `every rank printed its pid:\n${stdout}`);
  const pids = [...new Set(procs.flatMap((p) => [p.pid, p.ppid]))];
  assert.deepEqual(await waitDead(pids, 5000), [], 'rank or proxy processes left alive');
}

test('an uncaught exception after init, while the others block in recv from that rank: exit 1, one line naming rank and host, nothing left', async () => {
  const r = await orchidrun(['-n', '3', PROG, 'throw-in-recv', '1'], opts);
  assert.equal(r.hung, false, `the job hung:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /rank 0 waiting in recv\(1\)/);
  assert.match(r.stdout, /rank 2 waiting in recv\(1\)/);
  assert.doesNotMatch(r.stdout, /unexpectedly/);
  assert.match(r.stderr, /Error: boom from rank 1 after init/);
  const lines = launcherLines(r.stderr);
  assert.equal(lines.length, 1, `one launcher line:\n${r.stderr}`);
  assert.match(lines[0], /^orchidrun: rank 1 on host \S+ exited with code 1\b/);
  await assertAllGone(r.stdout, 3);
});

test('an uncaught exception after init, while the others block in a collective: exit 1, nothing left', async () => {
  const r = await orchidrun(['-n', '4', PROG, 'throw-in-coll', '2'], opts);
  assert.equal(r.hung, false, `the job hung:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout.match(/waiting in allreduce/g)?.length, 3);
  assert.doesNotMatch(r.stdout, /unexpectedly/);
  const lines = launcherLines(r.stderr);
  assert.equal(lines.length, 1, `one launcher line:\n${r.stderr}`);
  assert.match(lines[0], /^orchidrun: rank 2 on host \S+ exited with code 1 \(last stderr line: "Error: boom from rank 2 in place of allreduce"\)$/);
  await assertAllGone(r.stdout, 4);
});

test('a rank that exits with 3 before init while the others are in init: exit 3, job ends', async () => {
  const r = await orchidrun(['-n', '3', PROG, 'crash-before-init', '2', '3'], opts);
  assert.equal(r.hung, false, `the job hung:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.code, 3, r.stderr);
  assert.doesNotMatch(r.stdout, /unexpectedly/);
  const lines = launcherLines(r.stderr);
  assert.equal(lines.length, 1, `one launcher line:\n${r.stderr}`);
  assert.match(lines[0], /^orchidrun: rank 2 on host \S+ exited with code 3\b/);
  await assertAllGone(r.stdout, 3);
});

test('a rank that exits 0 early: the rank waiting in recv from it gets ERR_PEER_LOST naming it; job exit 0', async () => {
  const r = await orchidrun(['-n', '2', PROG, 'early-exit', '1'], opts);
  assert.equal(r.hung, false, `the job hung:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  const m = /^rank 0 caught (.*)$/m.exec(r.stdout);
  assert.ok(m, `rank 0 reported the error:\n${r.stdout}\n${r.stderr}`);
  const e = JSON.parse(m[1]);
  assert.equal(e.name, 'OrchidError');
  assert.equal(e.orchid, true, 'instanceof OrchidError');
  assert.equal(e.code, 'ERR_PEER_LOST');
  assert.match(e.message, /\brank 1\b/, 'the message names the lost rank');
  assert.match(e.message, /^recv\b/, 'the message names the call');
  assert.equal(launcherLines(r.stderr).length, 0, r.stderr);
  await assertAllGone(r.stdout, 2);
});

test('abort(7) on one rank while the others wait in barrier: exit 7, stderr names the rank', async () => {
  const r = await orchidrun(['-n', '3', PROG, 'abort', '1', '7'], opts);
  assert.equal(r.hung, false, `the job hung:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.code, 7, r.stderr);
  assert.equal(r.stdout.match(/waiting in barrier/g)?.length, 2);
  assert.doesNotMatch(r.stdout, /unexpectedly/);
  const lines = launcherLines(r.stderr);
  assert.equal(lines.length, 1, `one launcher line:\n${r.stderr}`);
  assert.match(lines[0], /^orchidrun: rank 1 on host \S+ called abort\(7\)/);
  await assertAllGone(r.stdout, 3);
});

test('SIGKILL of one rank mid-job (others blocked in barrier/recv): exit 137, the others gone', async () => {
  const run = startOrchidrun(['-n', '4', PROG, 'block'], opts);
  await run.waitFor(/blocked in/g, 4);
  const procs = pidsOf(run.stdout);
  assert.equal(procs.length, 4);
  const victim = procs.find((p) => p.rank === 1);
  process.kill(victim.pid, 'SIGKILL');
  const r = await run.result;
  assert.equal(r.hung, false, `the job hung:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.code, 137, r.stderr);
  const lines = launcherLines(r.stderr);
  assert.equal(lines.length, 1, `one launcher line:\n${r.stderr}`);
  assert.match(lines[0], /^orchidrun: rank 1 on host \S+ was killed by signal SIGKILL/);
  assert.doesNotMatch(r.stdout, /unexpectedly/);
  await assertAllGone(r.stdout, 4);
});

test('SIGKILL of the launcher while ranks are blocked in a collective: every rank and proxy dies within seconds', async () => {
  const run = startOrchidrun(['-n', '4', PROG, 'block'], opts);
  await run.waitFor(/blocked in/g, 4);
  const procs = pidsOf(run.stdout);
  assert.equal(procs.length, 4);
  const pids = [...new Set(procs.flatMap((p) => [p.pid, p.ppid]))];
  assert.ok(pids.every(isAlive), 'all running before the kill');
  process.kill(run.child.pid, 'SIGKILL');
  const r = await run.result;
  assert.equal(r.signal, 'SIGKILL');
  assert.equal(r.hung, false);
  assert.deepEqual(await waitDead(pids, 8000), [], 'ranks or proxies outlived the launcher');
});

test('after finalize(), send/recv/barrier/isend fail with ERR_FINALIZED; init() twice gives the same communicator', async () => {
  const r = await orchidrun(['-n', '2', PROG, 'finalized'], opts);
  assert.equal(r.hung, false, `the job hung:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  const reports = [...r.stdout.matchAll(/^report (.*)$/gm)].map((m) => JSON.parse(m[1]));
  assert.deepEqual(reports.map((x) => x.rank).sort(), [0, 1]);
  for (const rep of reports) {
    assert.equal(rep.samePromise, true, 'init() twice returns the same promise');
    assert.equal(rep.sameComm, true, 'init() twice resolves to the same communicator');
    assert.equal(rep.afterInit, true, 'init() after finalize still returns the same communicator');
    for (const call of ['send', 'recv', 'barrier', 'isend']) {
      const e = rep.errs[call];
      assert.equal(typeof e, 'object', `${call} after finalize: ${JSON.stringify(e)}`);
      assert.equal(e.name, 'OrchidError');
      assert.equal(e.orchid, true, `${call}: instanceof OrchidError`);
      assert.equal(e.code, 'ERR_FINALIZED', `${call}: ${e.message}`);
      assert.match(e.message, new RegExp(`^${call}\\b`), 'the message names the call');
    }
  }
});
