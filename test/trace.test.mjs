// orchidrun --trace / --profile / --live on a known program (test/programs/trace/ring.mjs), on
// every transport that works here: the trace's structure (a process per rank, exact call
// counts, every send's flow to its receive), the profile's counts, timeline.html and the
// live page rendered by headless Chromium.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ORCHIDRUN, ROOT, run, start } from './helpers/run.mjs';

const PROG = join(ROOT, 'test/programs/trace/ring.mjs');
const transports = (process.env.ORCHID_TEST_TRANSPORTS ?? 'ws,mpi').split(',').filter(Boolean);
const tmp = () => mkdtempSync(join(tmpdir(), 'orchid-trace-'));
const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find((c) => spawnSync('which', [c]).status === 0);
const dumpDom = (url) =>
  spawnSync(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${tmp()}`, '--virtual-time-budget=3000', '--dump-dom', url], { encoding: 'utf8', timeout: 60_000 }).stdout;

for (const t of transports) {
  test(`--trace and --profile=FILE on ${t}: every rank, exact counts, send->recv flows`, { timeout: 120_000 }, async () => {
    const dir = tmp();
    const r = await run(process.execPath, [ORCHIDRUN, '-n', '3', '--transport', t, '--trace', dir, `--profile=${join(dir, 'p.json')}`, PROG], { timeoutMs: 100_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /profile of 3 ranks/);
    const tr = JSON.parse(readFileSync(join(dir, 'trace.json'), 'utf8'));
    const names = tr.traceEvents.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => e.args.name);
    assert.deepEqual(names.map((n) => n.replace(/ @ .*/, '')), ['rank 0', 'rank 1', 'rank 2']);
    assert.ok(names.every((n) => / @ \S+/.test(n)));
    const count = (pid, name) => tr.traceEvents.filter((e) => e.ph === 'X' && e.pid === pid && e.name === name).length;
    for (const pid of [0, 1, 2]) {
      assert.equal(count(pid, 'send'), 5);
      assert.equal(count(pid, 'irecv'), 5);
      for (const c of ['allreduce', 'barrier', 'dup', 'bcast', 'finalize']) assert.equal(count(pid, c), 1, `${c} on rank ${pid}`);
    }
    const sends = tr.traceEvents.filter((e) => e.ph === 'X' && e.name === 'send');
    assert.ok(sends.every((e) => e.args.dest === (e.pid + 1) % 3 && e.args.tag === 7 && e.args.bytes === 128 && e.args.comm === '0'));
    assert.equal(tr.otherData.flows, 15);
    assert.equal(tr.otherData.unmatchedSends, 0);
    assert.equal(tr.otherData.unmatchedRecvs, 0);
    const s = tr.traceEvents.filter((e) => e.ph === 's');
    const f = new Map(tr.traceEvents.filter((e) => e.ph === 'f').map((e) => [e.id, e]));
    assert.equal(s.length, 15);
    for (const e of s) assert.equal(f.get(e.id).pid, (e.pid + 1) % 3, 'each flow ends at the next rank');
    const p = JSON.parse(readFileSync(join(dir, 'p.json'), 'utf8'));
    const byCall = Object.fromEntries(p.calls.map((c) => [c.call, c.count]));
    assert.deepEqual(byCall, { send: 15, irecv: 15, allreduce: 3, barrier: 3, dup: 3, bcast: 3, finalize: 3 });
    assert.deepEqual(p.bytes, [[0, 640, 0], [0, 0, 640], [640, 0, 0]]);
    if (!chromium) return;
    const dom = dumpDom(`file://${join(dir, 'timeline.html')}`);
    const rows = [...dom.matchAll(/<canvas class="lane" data-rank="(\d)" [^>]*data-drawn="(\d+)"/g)];
    assert.deepEqual(rows.map((m) => m[1]), ['0', '1', '2'], dom.slice(0, 2000));
    assert.ok(rows.every((m) => Number(m[2]) >= 12), 'every rank row drew its calls');
    assert.match(dom, /<td class="cell"[^>]*>640<\/td>/);
  });

  test(`--live on ${t}: the page shows rank 1 waiting in recv`, { timeout: 120_000, skip: !chromium && 'no chromium' }, async () => {
    const job = start(process.execPath, [ORCHIDRUN, '-n', '2', '--transport', t, '--live', PROG], { env: { SLOW: '8000' }, timeoutMs: 100_000 });
    const url = await new Promise((resolve, reject) => {
      const iv = setInterval(() => {
        const m = /live view of the job at (http:\S+)/.exec(job.stderr);
        if (m) {
          clearInterval(iv);
          resolve(m[1]);
        }
      }, 50);
      setTimeout(() => reject(new Error(`no URL: ${job.stderr}`)), 30_000);
    });
    await new Promise((r) => setTimeout(r, 3000));
    const dom = dumpDom(url);
    assert.match(dom, /<tr class="rank waiting" data-rank="1">.*?recv\(source 0, tag 99\) for \d/s, dom);
    assert.match(dom, /data-rank="0"/);
    const state = await (await fetch(new URL('state.json', url))).json();
    assert.equal(state.rows.length, 2);
    const r = await job.result;
    assert.equal(r.code, 0, r.stderr);
  });
}

test('without the flags the ranks record nothing (ORCHID_TRACE unset: traceBackend is the identity)', async () => {
  const { traceBackend, traceModes } = await import('../dist/comm/trace.js');
  assert.equal(traceModes, undefined);
  const be = { rank: 0, size: 1 };
  assert.equal(traceBackend(be), be);
});
