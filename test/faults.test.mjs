// Fault injection on real jobs: ranks that throw, crash, leave early, abort or are killed,
// and a launcher killed with SIGKILL. Every rank prints its pid (and its proxy's), so the
// tests check by pid that nothing is left alive. Time bounds are generous and only catch hangs.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
  assert.match(lines[0], /^orchidrun: rank 2 on host \S+ exited with code 1 after an uncaught Error: boom from rank 2 in place of allreduce \(at \S*fault\.mjs:\d+:\d+\)$/);
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

// ---- what the launcher says: the error that caused the failure, who waits for what, no stale sockets ----

test('an uncaught OrchidError: the summary line gives its name, code, message and place, not the last stderr line', async () => {
  const r = await orchidrun(['-n', '3', PROG, 'throw-own', '1'], opts);
  assert.equal(r.hung, false, `the job hung:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.code, 1, r.stderr);
  const lines = launcherLines(r.stderr);
  assert.equal(lines.length, 1, `one launcher line:\n${r.stderr}`);
  assert.match(lines[0], /^orchidrun: rank 1 on host \S+ exited with code 1 after an uncaught OrchidError \(ERR_RANK\): send: destination 8 is not a rank of this communicator .*\(at \S*fault\.mjs:\d+:\d+\)$/);
  assert.doesNotMatch(lines[0], /last stderr line|"\}"/);
});

test('an uncaught AssertionError: name, code and the first line of its message', async () => {
  const r = await orchidrun(['-n', '3', PROG, 'throw-own', '2', 'assert'], opts);
  assert.equal(r.code, 1, r.stderr);
  const lines = launcherLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^orchidrun: rank 2 on host \S+ exited with code 1 after an uncaught AssertionError \(ERR_ASSERTION\): Expected values to be strictly deep-equal: … \(at \S*fault\.mjs:\d+:\d+\)$/);
});

test('a rank that leaves with code 0 without finalize: the summary names it, not the ranks that then fail with ERR_PEER_LOST', async () => {
  for (let i = 0; i < 2; i++) {
    const r = await orchidrun(['-n', '3', PROG, 'leave-early', '2'], opts);
    assert.equal(r.hung, false, `the job hung:\n${r.stdout}\n${r.stderr}`);
    assert.notEqual(r.code, 0, r.stderr);
    const lines = launcherLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^orchidrun: rank 2 on host \S+ exited with code 0 while the others still needed it .*; rank [01] then failed with OrchidError \(ERR_PEER_LOST\): /);
  }
});

const PENDING_LINES = [
  /^orchidrun: rank 0: running \(no pending call\)$/m,
  /^orchidrun: rank 1: recv\(source 2, tag 5\) for \d+\.\d s$/m,
  /^orchidrun: rank 2: in finalize for \d+\.\d s \(barrier\(\) for \d+\.\d s\)$/m,
  /^orchidrun: rank 3: no answer: busy \(not in the event loop\)$/m,
];

test('--timeout: one line per rank with what it waits for, then the timeout line', async () => {
  const r = await orchidrun(['-n', '4', '--timeout', '6', PROG, 'pending'], { ...opts, timeoutMs: 40_000 });
  assert.equal(r.hung, false, `the job hung:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.code, 124, r.stderr);
  for (const re of PENDING_LINES) assert.match(r.stderr, re);
  const lines = launcherLines(r.stderr);
  assert.equal(lines.length, 5, r.stderr);
  assert.equal(lines[4], 'orchidrun: job timed out after 6 s');
});

test('SIGQUIT prints what every rank waits for and the job goes on; Ctrl-C prints it again and ends the job', async () => {
  const run = startOrchidrun(['-n', '4', PROG, 'pending', '60'], { cwd: FAULTS, timeoutMs: 60_000 });
  await run.waitFor(/^rank \d in place$/gm, 4, 30_000);
  await new Promise((r) => setTimeout(r, 500));
  process.kill(run.child.pid, 'SIGQUIT');
  const t0 = Date.now();
  while (!/rank 3: no answer/.test(run.stderr) && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 100));
  for (const re of PENDING_LINES) assert.match(run.stderr, re);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(run.child.exitCode, null, 'the job goes on after SIGQUIT');
  process.kill(run.child.pid, 'SIGINT');
  const r = await run.result;
  assert.equal(r.code, 130, r.stderr);
  assert.equal([...r.stderr.matchAll(/^orchidrun: rank 1: recv\(source 2, tag 5\) for/gm)].length, 2, r.stderr);
  await assertAllGone(r.stdout, 4);
});

/** The Unix sockets of job `id` in the temporary directory. */
const socketsOf = (id) => readdirSync(tmpdir()).filter((f) => f.startsWith(`orchid-${id.slice(0, 12)}-`) && f.endsWith('.sock'));
const jobOf = (stdout) => /^job ([0-9a-f]+)$/m.exec(stdout)[1];

test('no socket file is left behind by ranks killed by a signal or by --timeout', async () => {
  const env = { FAULT_SAY_JOB: '1' };
  // --timeout: every rank is ended by the launcher
  const t = startOrchidrun(['-n', '3', '--timeout', '4', PROG, 'block'], { cwd: FAULTS, env, timeoutMs: 40_000 });
  await t.waitFor(/^rank \d blocked/gm, 3, 30_000);
  const id = jobOf(t.stdout);
  assert.equal(socketsOf(id).length, 3, 'each rank listens on its socket while it runs');
  assert.equal((await t.result).code, 124);
  assert.deepEqual(socketsOf(id), [], 'sockets left after --timeout');
  // kill -9 of one rank
  const k = startOrchidrun(['-n', '3', PROG, 'block'], { cwd: FAULTS, env, timeoutMs: 40_000 });
  await k.waitFor(/^rank \d blocked/gm, 3, 30_000);
  const id2 = jobOf(k.stdout);
  assert.equal(socketsOf(id2).length, 3);
  process.kill(pidsOf(k.stdout).find((p) => p.rank === 1).pid, 'SIGKILL');
  assert.equal((await k.result).code, 137);
  assert.deepEqual(socketsOf(id2), [], 'sockets left after kill -9 of a rank');
});

test('kill -9 of the proxy (fork): its ranks die and the launcher removes their socket files', async () => {
  const k = startOrchidrun(['-n', '3', PROG, 'block'], { cwd: FAULTS, env: { FAULT_SAY_JOB: '1' }, timeoutMs: 40_000 });
  await k.waitFor(/^rank \d blocked/gm, 3, 30_000);
  const id = jobOf(k.stdout);
  assert.equal(socketsOf(id).length, 3);
  process.kill(pidsOf(k.stdout)[0].ppid, 'SIGKILL');
  const r = await k.result;
  assert.equal(r.code, 255, r.stderr);
  assert.match(launcherLines(r.stderr)[0], /^orchidrun: the proxy on host \S+ was killed by signal SIGKILL; ranks 0-2 lost$/);
  assert.deepEqual(socketsOf(id), [], 'sockets left after kill -9 of the proxy');
  await assertAllGone(r.stdout, 3);
});
