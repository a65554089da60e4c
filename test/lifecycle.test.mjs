// Program lifecycle: a job whose ranks never call finalize() still exits, with every message delivered.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, orchidrun } from './helpers/run.mjs';

const PROG = join(ROOT, 'test/programs/lifecycle/no-finalize.mjs');

for (const unix of ['1', '0']) {
  test(`ranks that end without finalize exit 0 and lose nothing (ORCHID_WS_UNIX=${unix})`, async () => {
    for (let i = 0; i < 3; i++) {
      const res = await orchidrun(['-n', '4', PROG], { env: { ORCHID_WS_UNIX: unix }, timeoutMs: 30_000 });
      assert.equal(res.code, 0, res.stderr);
      const got = res.stdout.trim().split('\n').sort();
      assert.deepEqual(got, ['0 3', '1 0', '2 1', '3 2']);
    }
  });
}

test('messages a rank sent before it exited are received after it is known to be gone', async () => {
  const prog = join(ROOT, 'test/programs/lifecycle/late-send.mjs');
  for (let i = 0; i < 2; i++) {
    const res = await orchidrun(['-n', '2', prog], { timeoutMs: 30_000 });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^got bye 1000$/m);
    assert.match(res.stdout, /^then ERR_PEER_LOST$/m);
  }
});
