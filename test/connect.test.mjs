// The ws mesh's connections: opened eagerly at init so the first message leaves at once; a
// connect that fails for a passing reason (EMFILE, a refused or reset connection) is retried
// and the queued messages still arrive, or the job fails naming the cause; and a rank's port
// closes connections that do not authenticate in time, and holds only so many of them, while
// the job goes on.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WebSocket } from 'ws';
import { ORCHIDRUN, ROOT, orchidrun, run, startOrchidrun } from './helpers/run.mjs';

const DIR = join(ROOT, 'test/programs/connect');
const launcherLines = (stderr) => stderr.split('\n').filter((l) => l.startsWith('orchidrun:'));

test('the first message to a peer leaves at once, though the sender then computes for 1.5 s', async (t) => {
  for (let i = 0; i < 3; i++) {
    const r = await orchidrun(['-n', '2', 'first-send.mjs'], { cwd: DIR, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const m = /^delay (\d+)$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    t.diagnostic(`run ${i}: the message arrived ${m[1]} ms after the send`);
    assert.ok(Number(m[1]) < 700, `the message waited ${m[1]} ms for the sender's event loop`);
  }
});

test('examples/pi.ts: the total time is not far below the slowest rank\'s compute time', async (t) => {
  for (let i = 0; i < 3; i++) {
    const r = await orchidrun(['-n', '4', join(ROOT, 'examples/pi.ts'), '4e8'], { cwd: ROOT, timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stderr);
    const m = /: ([\d.]+) ms \(slowest rank computed for ([\d.]+) ms\)/.exec(r.stdout);
    assert.ok(m, r.stdout);
    t.diagnostic(r.stdout.trim().split('\n').pop());
    // Rank 0's clock starts when it leaves the barrier, and ranks leave it up to a message's
    // latency apart, or a scheduler's time slice when 4 busy ranks share 2 cores, so its total
    // may fall short of another rank's compute time (CI saw 390.1 against 391.0 ms; a local
    // full run 237.2 against 264.6, 0.90). The fault this guards against was a 2x gap (489
    // against 969), which this bound still catches with room to spare.
    assert.ok(Number(m[1]) >= 0.75 * Number(m[2]), r.stdout);
  }
});

/** orchidrun under `ulimit -n 256` (launcher, proxy and ranks inherit it), connections lazy. */
function underUlimit(args, env = {}) {
  const cmd = `ulimit -n 256 && exec "${process.execPath}" "${ORCHIDRUN}" "$@"`;
  return run('bash', ['-c', cmd, 'bash', ...args], { cwd: DIR, env: { ORCHID_EAGER_CONNECT: '0', ...env }, timeoutMs: 90_000 });
}

for (const unix of ['1', '0']) {
  test(`a first send whose connect fails with EMFILE is retried and delivered once files are freed (ORCHID_WS_UNIX=${unix})`, async () => {
    const r = await underUlimit(['-n', '2', 'emfile.mjs', 'free'], { ORCHID_WS_UNIX: unix });
    assert.equal(r.hung, false, `the job hung:\n${r.stdout}\n${r.stderr}`);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /^rank 0 holds \d+ files$/m);
    assert.match(r.stdout, /^rank 1 got \{"hello":"from 0","n":42\}$/m);
    assert.match(r.stdout, /^rank 0 got \{"ack":42\}$/m);
  });
}

test('a send whose connect keeps failing with EMFILE fails the job, naming the cause and the peer', async (t) => {
  const t0 = Date.now();
  const r = await underUlimit(['-n', '2', 'emfile.mjs', 'never'], { ORCHID_CONNECT_TIMEOUT: '3000' });
  t.diagnostic(`ended after ${Date.now() - t0} ms: ${launcherLines(r.stderr).join(' | ')}`);
  assert.equal(r.hung, false, `the job hung:\n${r.stdout}\n${r.stderr}`);
  assert.notEqual(r.code, 0);
  assert.match(r.stdout, /^rank 0 sent$/m);
  assert.doesNotMatch(r.stdout, /rank 1 got/);
  const lines = launcherLines(r.stderr);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^orchidrun: rank 0 on host \S+ /);
  assert.match(lines[0], /too many open files \(EMFILE\)/);
  assert.match(lines[0], /rank 1\b/);
  assert.ok(Date.now() - t0 < 45_000, 'the job failed within the connect timeout, not the 60 s the program sleeps');
});

test('a peer connecting to a rank whose event loop is blocked past the auth deadline is not cut off', async () => {
  const r = await orchidrun(['-n', '2', 'busy-listener.mjs'], { cwd: DIR, env: { ORCHID_EAGER_CONNECT: '0' }, timeoutMs: 90_000 });
  assert.equal(r.hung, false, `the job hung:\n${r.stdout}\n${r.stderr}`);
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /^rank 1 got hello while you compute$/m);
  assert.match(r.stdout, /^rank 0 got done$/m);
});

/** The TCP port `pid` listens on (its one listening TCP socket: the mesh's). */
function listeningPort(pid) {
  const inodes = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {}
  }
  for (const line of readFileSync(`/proc/${pid}/net/tcp`, 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[3] === '0A' && inodes.has(f[9])) return parseInt(f[1].split(':')[1], 16);
  }
  throw new Error(`no listening TCP socket in process ${pid}`);
}

const RAW = 300;
const WS = 20;
const DEADLINE_MS = 5000;

for (const eager of ['64', '0']) {
  test(`a flood of ${RAW} idle TCP and ${WS} silent WebSocket connections to a rank is closed within the auth deadline; the job finishes correctly (ORCHID_EAGER_CONNECT=${eager})`, async (t) => {
    const go = join(tmpdir(), `orchid-flood-${process.pid}-${eager}`);
    rmSync(go, { force: true });
    const job = startOrchidrun(['-n', '3', 'flood.mjs', '16'], { cwd: DIR, env: { FLOOD_GO: go, ORCHID_EAGER_CONNECT: eager, ORCHID_WS_UNIX: '0' }, timeoutMs: 120_000 });
    try {
      const ready = await job.waitFor(/^pid (\d+) rank (\d+) ready$/gm, 3, 60_000);
      const pid0 = Number(ready.find((m) => m[2] === '0')[1]);
      const port = listeningPort(pid0);
      const closed = [];
      const opened = [];
      const env = readFileSync(`/proc/${pid0}/environ`, 'utf8').split('\0');
      const jobId = env.find((e) => e.startsWith('ORCHID_JOB='))?.slice('ORCHID_JOB='.length);
      assert.ok(jobId, 'the job id of rank 0');
      const t0 = Date.now();
      // First WebSockets that upgrade (with the right job id), get the challenge and stay silent...
      let upgraded = 0;
      for (let i = 0; i < WS; i++) {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { 'x-orchid-job': jobId }, perMessageDeflate: false });
        ws.on('error', () => {});
        opened.push(new Promise((r) => ws.once('message', r).once('close', r)));
        ws.on('open', () => upgraded++);
        closed.push(new Promise((r) => ws.once('close', () => r(Date.now() - t0))));
      }
      await Promise.all(opened);
      // ...then raw TCP connections that never say a word.
      for (let i = 0; i < RAW; i++) {
        const s = connect({ host: '127.0.0.1', port });
        s.on('error', () => {});
        opened.push(new Promise((r) => s.once('connect', r).once('close', r)));
        closed.push(new Promise((r) => s.once('close', () => r(Date.now() - t0))));
      }
      await Promise.all(opened);
      writeFileSync(go, '');
      const times = await Promise.race([Promise.all(closed), new Promise((r) => setTimeout(() => r(undefined), 40_000))]);
      assert.ok(times, 'flood connections still open 40 s after they were made');
      const worst = Math.max(...times);
      const refused = times.filter((ms) => ms < 1000).length;
      t.diagnostic(`${RAW + WS} connections: ${refused} closed within 1 s, the last after ${worst} ms; ${upgraded} WebSockets upgraded`);
      assert.ok(worst < DEADLINE_MS + 5000, `a connection stayed open ${worst} ms (deadline ${DEADLINE_MS} ms)`);
      assert.equal(upgraded, WS, 'the silent WebSockets were upgraded');
      assert.ok(refused >= RAW - 200, `only ${refused} connections were refused at once: no cap on unauthenticated connections?`);
      const r = await job.result;
      assert.equal(r.hung, false, `the job hung:\n${r.stdout}\n${r.stderr}`);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      for (let k = 0; k < 3; k++) assert.match(r.stdout, new RegExp(`^rank ${k} ok 16$`, 'm'));
    } finally {
      rmSync(go, { force: true });
      try {
        process.kill(-job.child.pid, 'SIGKILL');
      } catch {}
    }
  });
}
