// finalize() settles on every rank, also after a caught collective error (issue 10, item 4):
// a rank whose finalize never settles ends with exit code 13 (Node's unsettled top-level
// await) and prints nothing. The cause was a connection still being set up when the rank
// closed its transport (the listening server waits for it, and no connection keeps a
// program alive): the first test makes that happen every time, the second is the audit's
// program in a loop, on each transport (ORCHID_TEST_TRANSPORTS).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, orchidrun } from './helpers/run.mjs';

const transports = (process.env.ORCHID_TEST_TRANSPORTS ?? 'ws').split(',').filter(Boolean);
const RUNS = Number(process.env.ORCHID_FINALIZE_RUNS ?? 35);

function allDone(res, n) {
  assert.equal(res.code, 0, `exit ${res.code}: ${res.stderr.slice(-1500)}`);
  for (let r = 0; r < n; r++) assert.match(res.stdout, new RegExp(`^DONE ${r}$`, 'm'), res.stdout + res.stderr);
  assert.doesNotMatch(res.stdout, /NO ERROR|WRONG ERROR/);
}

if (transports.includes('ws')) {
  test('finalize settles while a connection to the rank is still authenticating (ws)', { timeout: 120_000 }, async () => {
    for (let i = 0; i < 3; i++) {
      const res = await orchidrun(['-n', '2', join(ROOT, 'test/programs/lifecycle/finalize-pending-auth.mjs')], { timeoutMs: 60_000 });
      allDone(res, 2);
    }
  });
}

for (const t of transports) {
  test(`finalize after a caught ERR_COUNT settles on every rank, ${RUNS} runs of 4 ranks [${t}]`, { timeout: RUNS * 60_000 }, async () => {
    for (let i = 0; i < RUNS; i++) {
      const res = await orchidrun(['-n', '4', '--transport', t, join(ROOT, 'test/programs/lifecycle/finalize-after-error.mjs')], { timeoutMs: 60_000 });
      allDone(res, 4);
    }
  });
}
