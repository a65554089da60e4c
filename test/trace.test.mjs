// orchidrun --trace / --profile / --live on a known program (test/programs/trace/ring.mjs), on
// every transport that works here and in every launch mode (this host; three emulated hosts over
// ssh, test/cluster/cluster.sh): the trace's structure (a process per rank named after the host
// it ran on, exact call counts, every send's flow to its receive), each rank's clock alignment,
// the profile's counts and bytes, timeline.html and the live page rendered by headless Chromium.
// New launch modes add rows to `modes`, not test copies.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { clusterSkip, clusterUp } from './helpers/cluster.mjs';
import { ORCHIDRUN, ROOT, run, start } from './helpers/run.mjs';

const PROG = join(ROOT, 'test/programs/trace/ring.mjs');
const transports = (process.env.ORCHID_TEST_TRANSPORTS ?? 'ws,mpi').split(',').filter(Boolean);
const tmp = () => mkdtempSync(join(tmpdir(), 'orchid-trace-'));
const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find((c) => spawnSync('which', [c]).status === 0);
const dumpDom = (url) =>
  spawnSync(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--user-data-dir=${tmp()}`, '--virtual-time-budget=3000', '--dump-dom', url], { encoding: 'utf8', timeout: 60_000 }).stdout;
const NP = 3;

/**
 * Launch modes: `args()` places the NP ranks, `host(r)` is where rank r must say it ran.
 * timeline.html is rendered by Chromium in one mode (it is the same page from the same data in
 * the other: there its host labels are checked in the text).
 */
const here = hostname();
let cluster;
const modes = [
  { name: 'this host', args: () => ['-n', String(NP)], host: () => here, render: true },
  {
    name: '3 emulated hosts over ssh',
    cluster: true,
    args: () => ['-n', String(NP), '--ssh', cluster.ssh, '--hosts', 'node1,node2,node3'],
    host: (r) => `node${r + 1}`,
    up: () => (cluster = clusterUp(3)),
    down: () => cluster?.down(),
  },
];

/** One clock (this machine's) behind every rank: a measured offset beyond the bound is a fault. */
const SAME_CLOCK_SLACK_MS = 2;

for (const mode of modes) {
  describe(`see inside a job on ${mode.name}`, mode.cluster ? clusterSkip() : {}, () => {
    before(() => mode.up?.());
    after(() => mode.down?.());

    for (const t of transports) {
      test(`--trace and --profile=FILE on ${t}: every rank on its host, exact counts, send->recv flows, clocks`, { timeout: 120_000 }, async () => {
        const dir = tmp();
        const scratch = tmp(); // the launcher's TMPDIR (Hydra's ssh wrapper goes there)
        // chunks of 4 calls: each rank ships 3 full chunks while it runs and the last 3 calls at finalize
        const args = [...mode.args(), '--transport', t, '--env', 'ORCHID_TRACE_CHUNK=4', '--trace', dir, `--profile=${join(dir, 'p.json')}`, PROG];
        const r = await run(process.execPath, [ORCHIDRUN, ...args], { timeoutMs: 100_000, env: { TMPDIR: scratch } });
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(readdirSync(scratch), [], 'nothing left in the temporary directory');
        assert.match(r.stderr, /profile of 3 ranks/);
        const tr = JSON.parse(readFileSync(join(dir, 'trace.json'), 'utf8'));
        const names = tr.traceEvents.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => e.args.name);
        assert.deepEqual(names, [0, 1, 2].map((i) => `rank ${i} @ ${mode.host(i)}`));
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
        // each rank's alignment to the launcher's clock: the true offset is 0 here (one machine),
        // so the measured one lies within its error bound (half the best ping's round trip),
        // and that bound is what the rank's wtick() says
        const ticks = new Map([...r.stdout.matchAll(/^rank (\d+) wtime \S+ tick (\S+)$/gm)].map((m) => [Number(m[1]), Number(m[2])]));
        assert.deepEqual(tr.otherData.clocks.map((c) => [c.rank, c.host, c.aligned]), [0, 1, 2].map((i) => [i, mode.host(i), true]));
        for (const c of tr.otherData.clocks) {
          assert.ok(c.errorMs > 0 && c.errorMs < 100, `rank ${c.rank}: error bound ${c.errorMs} ms`);
          assert.ok(Math.abs(c.offsetMs) <= c.errorMs + SAME_CLOCK_SLACK_MS, `rank ${c.rank}: offset ${c.offsetMs} ms beyond its bound ${c.errorMs} ms`);
          assert.equal(ticks.get(c.rank), Math.max(c.errorMs, 0.001) / 1000, `rank ${c.rank}'s wtick()`);
        }
        const p = JSON.parse(readFileSync(join(dir, 'p.json'), 'utf8'));
        const byCall = Object.fromEntries(p.calls.map((c) => [c.call, c.count]));
        assert.deepEqual(byCall, { send: 15, irecv: 15, allreduce: 3, barrier: 3, dup: 3, bcast: 3, finalize: 3 });
        assert.deepEqual(p.bytes, [[0, 640, 0], [0, 0, 640], [640, 0, 0]]);
        const html = readFileSync(join(dir, 'timeline.html'), 'utf8');
        for (const i of [0, 1, 2]) assert.ok(html.includes(`rank ${i} @ ${mode.host(i)}`), `timeline.html names rank ${i}'s host`);
        if (!chromium || !mode.render) return;
        const dom = dumpDom(`file://${join(dir, 'timeline.html')}`);
        const rows = [...dom.matchAll(/<canvas class="lane" data-rank="(\d)" [^>]*data-drawn="(\d+)"/g)];
        assert.deepEqual(rows.map((m) => m[1]), ['0', '1', '2'], dom.slice(0, 2000));
        assert.ok(rows.every((m) => Number(m[2]) >= 12), 'every rank row drew its calls');
        assert.match(dom, /<td class="cell"[^>]*>640<\/td>/);
      });

      test(`--live on ${t}: the launcher's page shows rank 1 on its host waiting in recv`, { timeout: 120_000, skip: !chromium && 'no chromium' }, async () => {
        const hold = join(tmp(), 'release');
        const job = start(process.execPath, [ORCHIDRUN, ...mode.args(), '--transport', t, '--live', '--env', `HOLD=${hold}`, PROG], { timeoutMs: 100_000 });
        try {
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
          // until rank 1's state says it waits (rank 0 holds its message until `hold` exists)
          let state;
          for (const end = Date.now() + 60_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
            state = await (await fetch(new URL('state.json', url))).json();
            if (state.rows[1]?.state === 'waiting' && state.rows[1].call.startsWith('recv(')) break;
          }
          assert.deepEqual(state.rows.map((row) => [row.rank, row.host]), [0, 1, 2].map((i) => [i, mode.host(i)]));
          const dom = dumpDom(url);
          assert.match(dom, new RegExp(`<tr class="rank waiting" data-rank="1"><td>1</td><td>${mode.host(1)}</td><td class="call">recv\\(source 0, tag 99\\) for \\d`), dom);
          assert.match(dom, new RegExp(`data-rank="0"><td>0</td><td>${mode.host(0)}</td>`));
        } finally {
          writeFileSync(hold, '');
        }
        const r = await job.result;
        assert.equal(r.code, 0, r.stderr);
      });
    }
  });
}

test('the recorder\'s totals (ORCHID_TRACE=profile): calls in flight at once count once in busyMs; a synchronous throw is a failed call', async () => {
  // a backend whose sends take 200 ms; two at once, then one alone, then one that throws before it starts
  const code = `
    const { traceBackend, traceTotals } = await import(${JSON.stringify(join(ROOT, 'dist/comm/trace.js'))});
    const later = (ms) => new Promise((r) => setTimeout(r, ms));
    const be = traceBackend({ rank: 0, size: 2, hostname: 'h', tagUb: 2 ** 31 - 1, members: [0, 1],
      send: (pkt, dest) => { if (dest === 0) throw new TypeError('no'); return later(200); } });
    const pkt = { bytes: new Uint8Array(10) };
    await Promise.all([be.send(pkt, 1, 0, 'send'), be.send(pkt, 1, 0, 'isend')]);
    await later(100);
    await be.send(pkt, 1, 0, 'send');
    try { be.send(pkt, 0, 0, 'send'); } catch {}
    const t = traceTotals();
    console.log(JSON.stringify({ ...t, wallMs: t.endMs - t.startMs }));`;
  const r = await run(process.execPath, ['--input-type=module', '-e', code], { env: { ORCHID_TRACE: 'profile' } });
  assert.equal(r.code, 0, r.stderr);
  const t = JSON.parse(r.stdout);
  const of = (name) => t.names.indexOf(name);
  assert.deepEqual([t.count[of('send')], t.count[of('isend')]], [3, 1], 'the throwing send is counted');
  assert.equal(t.bytes[of('send')], 20, 'payload bytes of the two sends that went (not the failed one)');
  assert.deepEqual(t.sentMsgs, [0, 3], 'a failed send sent nothing');
  const callMs = t.totalMs.reduce((a, b) => a + b, 0);
  // in flight: 200 ms (the two at once) + 200 ms (the one alone); summed by call: 600 ms
  assert.ok(t.busyMs >= 399 && t.busyMs < callMs - 150, `busy ${t.busyMs} ms, calls ${callMs} ms`);
  assert.ok(t.wallMs - t.busyMs >= 99, `the 100 ms between them is not busy (wall ${t.wallMs}, busy ${t.busyMs})`);
});

test('the recorder\'s chunks (ORCHID_TRACE=events): each full chunk goes to the sink, its array written again after; a refused chunk counts as dropped', async () => {
  // chunks of 3 calls; the sink keeps a copy of the first, refuses the second, keeps the third
  const code = `
    const { setTraceSink, takeTraceChunk, traceBackend, traceTotals } = await import(${JSON.stringify(join(ROOT, 'dist/comm/trace.js'))});
    const kept = [];
    let k = 0;
    setTraceSink((c) => k++ !== 1 && kept.push(Array.from(c.calls)) > 0);
    const be = traceBackend({ rank: 0, size: 2, hostname: 'h', tagUb: 2 ** 31 - 1, members: [0, 1], send: () => undefined });
    for (let i = 0; i < 11; i++) be.send({ bytes: new Uint8Array(i) }, 1, 100 + i, 'send');
    const last = takeTraceChunk();
    console.log(JSON.stringify({ kept, last: Array.from(last.calls), dropped: traceTotals().dropped, count: traceTotals().count }));`;
  const r = await run(process.execPath, ['--input-type=module', '-e', code], { env: { ORCHID_TRACE: 'events', ORCHID_TRACE_CHUNK: '3' } });
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const FIELDS = 8, TAG = 4, BYTES = 5; // trace-format.ts
  const tags = (calls) => calls.filter((_, i) => i % FIELDS === TAG);
  assert.deepEqual(out.kept.map(tags), [[100, 101, 102], [106, 107, 108]], 'chunks 1 and 3 as they were when shipped');
  assert.deepEqual(tags(out.last), [109, 110], 'the last chunk: the calls not shipped yet, nothing of the earlier ones');
  assert.deepEqual(out.last.filter((_, i) => i % FIELDS === BYTES), [9, 10]);
  assert.equal(out.dropped, 3, 'the refused chunk\'s calls');
  assert.deepEqual(out.count, [11], 'the totals count every call, dropped or not');
});

test('without the flags the ranks record nothing (ORCHID_TRACE unset: traceBackend is the identity)', async () => {
  const { traceBackend, traceModes } = await import('../dist/comm/trace.js');
  assert.equal(traceModes, undefined);
  const be = { rank: 0, size: 1 };
  assert.equal(traceBackend(be), be);
});
