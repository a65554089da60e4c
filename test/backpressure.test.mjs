// Backpressure on a real 2-rank job: a fast sender must not grow a slow receiver's memory
// without bound. Large messages go by rendezvous (the payload waits at the sender until the
// receiver asks for it); small ones go eagerly only within a credit window per peer
// (ORCHID_EAGER_WINDOW, default 4 MB), then by rendezvous too. The receiver sleeps while
// the sender floods it, measures its own memory, then receives everything in order.
// Memory bounds here are loose (a fraction of what an unbounded flood would cost), not timings.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { orchidrun, ROOT } from './helpers/run.mjs';

const cwd = join(ROOT, 'test/programs/faults');
const MB = 1024 * 1024;
const fmt = (b) => `${(b / MB).toFixed(2)} MB`;

async function flood(t, { mode, count, bytes, env = {} }) {
  const r = await orchidrun(['-n', '2', 'backpressure.mjs', mode, String(count), String(bytes), '2000'], { cwd, env, timeoutMs: 30_000 });
  assert.equal(r.hung, false, `the job hung:\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  assert.equal(r.code, 0, r.stderr);
  const measure = JSON.parse(/^measure (.*)$/m.exec(r.stdout)?.[1] ?? 'null');
  const done = JSON.parse(/^ok (.*)$/m.exec(r.stdout)?.[1] ?? 'null');
  assert.ok(measure && done, `rank 0 reported:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, new RegExp(`^rank 1 all ${count} isends resolved$`, 'm'), 'every isend resolved');
  assert.equal(measure.somethingWaiting, true, 'the flood reached rank 0 before it measured');
  assert.equal(done.received, count);
  assert.equal(done.bad, 0, `messages out of order or corrupted: ${JSON.stringify(done.firstBad)}`);
  const grew = {
    arrayBuffers: measure.during.arrayBuffers - measure.before.arrayBuffers,
    rss: measure.during.rss - measure.before.rss,
    heapUsed: measure.during.heapUsed - measure.before.heapUsed,
  };
  t.diagnostic(
    `${mode}: ${count} x ${bytes} B = ${fmt(count * bytes)} sent while rank 0 slept 2 s; rank 0 grew: ` +
      `arrayBuffers ${fmt(grew.arrayBuffers)}, rss ${fmt(grew.rss)}, heapUsed ${fmt(grew.heapUsed)}; ` +
      `then received all in ${done.recvMs} ms` + (Object.keys(env).length ? ` (${JSON.stringify(env)})` : ''),
  );
  return grew;
}

test('64 isends of 2 MB Float64Arrays to a sleeping receiver: its memory stays flat (rendezvous), all arrive in order', async (t) => {
  const grew = await flood(t, { mode: 'large', count: 64, bytes: 2 * MB });
  // 128 MB were sent; rendezvous keeps them at the sender until rank 0 receives
  assert.ok(grew.arrayBuffers < 32 * MB, `arrayBuffers grew ${fmt(grew.arrayBuffers)} while rank 0 slept`);
  assert.ok(grew.rss < 64 * MB, `rss grew ${fmt(grew.rss)} while rank 0 slept`);
});

test('20000 eager 1 KB messages to a sleeping receiver: bounded by the credit window, all arrive in order', async (t) => {
  const grew = await flood(t, { mode: 'small', count: 20000, bytes: 1024 });
  // ~20.6 MB with headers; the default window (4 MB) caps what is eager, the rest waits at the sender
  assert.ok(grew.arrayBuffers < 16 * MB, `arrayBuffers grew ${fmt(grew.arrayBuffers)} while rank 0 slept`);
});

test('the bound follows ORCHID_EAGER_WINDOW: with 1 MB, the receiver holds about 1 MB of eager data', async (t) => {
  const grew = await flood(t, { mode: 'small', count: 20000, bytes: 1024, env: { ORCHID_EAGER_WINDOW: String(MB) } });
  assert.ok(grew.arrayBuffers < 4 * MB, `arrayBuffers grew ${fmt(grew.arrayBuffers)} with a 1 MB window`);
});
