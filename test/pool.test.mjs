// The task pool's faults (ws; the conformance suite has the rest, test/conformance/checks/pool.mjs):
// a worker that exits while serving (the pool goes on smaller), one that is killed (the job
// ends, the launcher's rule), a task that never returns (close({ timeoutMs }) gives up).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { orchidrun, ROOT } from './helpers/run.mjs';

const PROG = join(ROOT, 'test/programs/pool/faults.mjs');
const job = (mode) => orchidrun(['-n', '4', PROG, mode], { timeoutMs: 90_000 });

test('a worker that exits with code 0 while serving: its in-flight tasks fail with ERR_PEER_LOST, a line on stderr, the pool goes on with 2 workers', async () => {
  const r = await job('exit');
  assert.equal(r.hung, false);
  const results = [...r.stdout.matchAll(/^R (\d+) (.*)$/gm)];
  assert.equal(results.length, 30, r.stdout + r.stderr);
  const lost = results.filter(([, , v]) => v.startsWith('ERR_PEER_LOST'));
  assert.ok(lost.some(([, i]) => i === '5'), r.stdout);
  assert.ok(lost.length >= 1 && lost.length <= 2, r.stdout);
  for (const [, , v] of lost) assert.match(v, /pool\.map: the task ran on rank \d \(host \S+\), which is gone/);
  assert.equal(results.filter(([, , v]) => /^[123]$/.test(v)).length, 30 - lost.length);
  assert.match(r.stdout, /^WORKERS 2$/m);
  assert.match(r.stderr, /orchid pool: rank \d on host \S+ is gone .*; the pool goes on with 2 workers/);
  // the leaver did not finalize: the launcher names it (README, "Why a job failed")
  assert.match(r.stderr, /exited with code 0 while the others still needed it/);
});

test('a worker killed by SIGKILL ends the whole job (the launcher\'s rule); nothing hangs', async () => {
  const r = await job('kill');
  assert.equal(r.hung, false);
  assert.equal(r.code, 137, r.stderr);
  assert.match(r.stderr, /rank \d on host \S+ was killed by signal SIGKILL/);
});

test('close({ timeoutMs }) with a task that never returns rejects with ERR_TIMEOUT naming the rank; its task fails; abort() ends the job', async () => {
  const r = await job('stuck');
  assert.equal(r.hung, false);
  assert.equal(r.code, 3, r.stderr);
  assert.match(r.stdout, /^CLOSE ERR_TIMEOUT pool\.close: rank \d \(host \S+\) still ran tasks after 1500 ms/m);
  assert.match(r.stdout, /^R 5 ERR_TIMEOUT$/m);
  assert.match(r.stdout, /^R 0 [123]$/m);
});
