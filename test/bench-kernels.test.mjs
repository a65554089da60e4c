// orchid bench: every kernel verifies its own answer at a small size on 1, 2 and 4 ranks
// (strong, weak and hybrid), run as real jobs through launch(); the results schema checker.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { launch } from 'orchid-mpi/launcher';

const RANK = fileURLToPath(new URL('../dist/bench/rank.js', import.meta.url));
const PREFIX = '@orchid-bench ';
const { KERNEL_NAMES, HYBRID_KERNELS, block, sieveCount } = await import('../dist/bench/kernels.js');
const { validateResults, upgradeResults, SCHEMA } = await import('../dist/bench/schema.js');
const { summarize } = await import('../dist/bench/stats.js');
const { PROFILE_ENV } = await import('../dist/bench/comm-share.js');

const SMALL = { pi: 200_000, matmul: 24, stencil: 21, sort: 5_000, primes: 20_000, hpl: 40 };

async function job(np, spec, env) {
  const j = launch({ np, script: RANK, args: [JSON.stringify(spec)], transport: 'ws', timeout: 90, env });
  const lines = [];
  const other = [];
  for await (const l of j.output) {
    if (l.text.startsWith(PREFIX)) lines.push(JSON.parse(l.text.slice(PREFIX.length)));
    else other.push(`[${l.rank}] ${l.text}`);
  }
  const r = await j.done;
  assert.equal(r.code, 0, `job of ${np} ranks: ${r.message}\n${other.join('\n')}`);
  return lines;
}

for (const np of [1, 2, 4]) {
  test(`every kernel verifies at small size on ${np} rank(s): strong, weak and hybrid`, { timeout: 120_000 }, async () => {
    const kernels = [];
    for (const k of KERNEL_NAMES) {
      kernels.push({ kernel: k, scaling: 'strong', base: SMALL[k], repeats: 1 });
      kernels.push({ kernel: k, scaling: 'weak', base: SMALL[k], repeats: 1 });
    }
    const lines = await job(np, { kernels });
    const head = lines.find((l) => l.type === 'job');
    assert.equal(head.ranks, np);
    const got = lines.filter((l) => l.type === 'kernel');
    assert.equal(got.length, kernels.length, JSON.stringify(lines));
    for (const l of got) {
      assert.equal(l.verified, true, `${l.kernel} ${l.scaling} on ${np} ranks: ${l.detail}`);
      assert.equal(l.samples.length, 1);
      assert.ok(l.samples[0] > 0);
      assert.equal(l.profile, undefined, 'no profile without the recorder');
    }
    const hyb = await job(np, { hybrid: true, kernels: HYBRID_KERNELS.map((k) => ({ kernel: k, scaling: 'strong', base: SMALL[k], repeats: 1 })) });
    const hk = hyb.filter((l) => l.type === 'kernel');
    assert.equal(hk.length, HYBRID_KERNELS.length);
    for (const l of hk) {
      assert.equal(l.scaling, 'hybrid');
      assert.ok(l.threads >= 1);
      assert.equal(l.verified, true, `hybrid ${l.kernel} on ${np} ranks: ${l.detail}`);
    }
  });
}

test('every kernel verifies on the mpi transport too (2 ranks, when the native addon works)', { timeout: 120_000 }, async (t) => {
  const probe = launch({ np: 1, script: fileURLToPath(new URL('../dist/bench/probe.js', import.meta.url)), transport: 'mpi', timeout: 60 });
  let why;
  try {
    for await (const _ of probe.output);
    const r = await probe.done;
    if (r.code !== 0) why = r.message ?? `exit ${r.code}`;
  } catch (e) {
    why = e.message;
  }
  if (why) {
    assert.ok(!process.env.CI, `the mpi transport must work in CI: ${why}`);
    t.skip(`mpi transport not available (${why}); install mpich libmpich-dev and rebuild the addon`);
    return;
  }
  const kernels = KERNEL_NAMES.map((k) => ({ kernel: k, scaling: 'strong', base: SMALL[k], repeats: 1 }));
  const j = launch({ np: 2, script: RANK, args: [JSON.stringify({ kernels })], transport: 'mpi', timeout: 90 });
  const got = [];
  for await (const l of j.output) if (l.text.startsWith(PREFIX)) got.push(JSON.parse(l.text.slice(PREFIX.length)));
  assert.equal((await j.done).code, 0);
  const ks = got.filter((l) => l.type === 'kernel');
  assert.equal(ks.length, KERNEL_NAMES.length);
  for (const l of ks) assert.equal(l.verified, true, `${l.kernel} on mpi: ${l.detail}`);
});

test('odd sizes and more ranks than rows still verify (uneven blocks, empty ranks)', { timeout: 60_000 }, async () => {
  const kernels = [
    { kernel: 'matmul', scaling: 'strong', base: 3, repeats: 1 },
    { kernel: 'stencil', scaling: 'strong', base: 3, repeats: 1 },
    { kernel: 'sort', scaling: 'strong', base: 7, repeats: 1 },
    { kernel: 'pi', scaling: 'strong', base: 1001, repeats: 1 },
    { kernel: 'primes', scaling: 'strong', base: 3, repeats: 1 },
  ];
  const got = (await job(4, { kernels })).filter((l) => l.type === 'kernel');
  assert.equal(got.length, kernels.length);
  for (const l of got) assert.equal(l.verified, true, `${l.kernel}: ${l.detail}`);
});

test('the micro-benchmarks report every size and collective', { timeout: 60_000 }, async () => {
  const micro = { p2pSizes: [8, 4096], collSizes: [8, 1024], collectives: ['bcast', 'allreduce', 'alltoall', 'barrier'], scale: 0.01, repeats: 2 };
  const lines = (await job(2, { micro })).filter((l) => l.type === 'micro');
  const names = lines.map((l) => `${l.benchmark}:${l.size}`).sort();
  assert.deepEqual(names, ['allreduce:1024', 'allreduce:8', 'alltoall:1024', 'alltoall:8', 'barrier:0', 'bcast:1024', 'bcast:8',
    'pingpong-bandwidth:4096', 'pingpong-bandwidth:8', 'pingpong-latency:4096', 'pingpong-latency:8']);
  for (const l of lines) {
    assert.equal(l.samples.length, 2);
    for (const s of l.samples) assert.ok(s > 0 && Number.isFinite(s));
  }
});

test('with the recorder on (bench --profile) each kernel run carries its time in orchid calls: exact counts and bytes, shares in (0, 1)', { timeout: 60_000 }, async () => {
  const R = 2;
  const kernels = [
    { kernel: 'pi', scaling: 'strong', base: SMALL.pi, repeats: R },
    { kernel: 'stencil', scaling: 'strong', base: SMALL.stencil, repeats: R },
  ];
  const [pi, st] = (await job(2, { kernels }, PROFILE_ENV)).filter((l) => l.type === 'kernel');
  const counts = (p) => Object.fromEntries(p.calls.map((c) => [c.call, c.count]));
  // per timed repeat and rank: the kernel's calls and the closing barrier (the warm-up run is not counted)
  assert.deepEqual(counts(pi.profile), { allreduce: 2 * 2 * R, barrier: 2 * R });
  // stencil on 2 ranks: one halo row each way per sweep (STENCIL_SWEEPS = 50), (n + 2) doubles each
  assert.deepEqual(counts(st.profile), { send: 2 * 50 * R, recv: 2 * 50 * R, allreduce: 2 * 2 * R, barrier: 2 * R });
  assert.equal(st.profile.sentMsgs, 2 * 50 * R);
  assert.equal(st.profile.sentBytes, 2 * 50 * R * 8 * (SMALL.stencil + 2));
  assert.equal(st.profile.calls.find((c) => c.call === 'send').bytes, st.profile.sentBytes);
  assert.equal(pi.profile.sentMsgs, 0);
  for (const l of [pi, st]) {
    const p = l.profile;
    assert.ok(p.share > 0 && p.share < 1, `${l.kernel}: share ${p.share}`);
    assert.ok(p.minShare <= p.share && p.share <= p.maxShare && p.maxShare < 1, `${l.kernel}: ${p.minShare} <= ${p.share} <= ${p.maxShare}`);
    assert.ok([0, 1].includes(p.maxRank) && [0, 1].includes(p.minRank));
    assert.ok(p.wallMs > 0);
    // the time in calls summed by call can exceed the time with a call in flight (overlapping sends and receives), never the reverse
    assert.ok(p.calls.reduce((s, c) => s + c.share, 0) >= p.share * 0.999, `${l.kernel}: calls ${JSON.stringify(p.calls)} vs share ${p.share}`);
  }
});

test('kernel helpers: blocks cover the range, the sieve counts primes', () => {
  for (const [n, p] of [[10, 3], [2, 4], [0, 2], [17, 17]]) {
    let next = 0;
    for (let r = 0; r < p; r++) {
      const [lo, hi] = block(n, r, p);
      assert.equal(lo, next);
      assert.ok(hi >= lo);
      next = hi;
    }
    assert.equal(next, n);
  }
  assert.equal(sieveCount(100), 25);
  assert.equal(sieveCount(1_000_000), 78498);
});

test('the schema checker accepts a valid file and names what is wrong in a bad one', () => {
  const m = { kind: 'kernel', kernel: 'pi', impl: 'orchid', transport: 'ws', ranks: 2, hosts: 1, nodes: 1, ppn: 2, layout: '2 ranks', threads: 1, size: 100, unit: 's', scaling: 'strong', verified: true, rate: 50, rateUnit: 'intervals/s', ...summarize([1, 2, 3]) };
  const env = { hostnames: ['h'], cpuModel: 'x', cores: 2, memoryBytes: 1, os: 'Linux', arch: 'x64', node: 'v20', orchid: { version: '0.1.0', git: null }, mpi: null, transports: ['ws'], notes: [] };
  const ok = { schema: SCHEMA, label: 'a', partial: false, quick: true, started: 's', finished: 'f', command: 'c', rankCounts: [1, 2], sweep: 'ranks', nodeCounts: [1], environment: env, measurements: [m], links: [], hpcc: [], warnings: [], failures: [] };
  assert.deepEqual(validateResults(ok), []);
  assert.match(validateResults({ ...ok, measurements: [{ ...m, rateUnit: undefined }] }).join('\n'), /a rate needs "rateUnit"/);
  assert.match(validateResults({ ...ok, measurements: [{ ...m, layout: undefined }] }).join('\n'), /measurements\[0\]\.layout/);
  assert.match(validateResults({ ...ok, sweep: 'hosts' }).join('\n'), /results\.sweep/);
  const link = { a: 'n1', b: 'n2', latencyUs: 50, lineMbps: 1000, lineRatio: 0.9, flag: null, ...summarize([110, 112, 115]) };
  assert.deepEqual(validateResults({ ...ok, links: [link] }), []);
  assert.match(validateResults({ ...ok, links: [{ ...link, flag: 3 }] }).join('\n'), /links\[0\]\.flag/);
  // a file of the first schema (before node sweeps) reads as the second
  const { nodes, ppn, layout, rate, rateUnit, ...v1m } = m;
  const v1 = { schema: 'orchid-bench/1', label: 'a', partial: false, quick: true, started: 's', finished: 'f', command: 'c', rankCounts: [1, 2], environment: env, measurements: [v1m], failures: [] };
  assert.match(validateResults(v1).join('\n'), /results\.schema/);
  const up = upgradeResults(v1);
  assert.deepEqual(validateResults(up), []);
  assert.deepEqual([up.measurements[0].nodes, up.measurements[0].ppn, up.measurements[0].layout, up.sweep], [1, 2, '1 × 2', 'ranks']);
  assert.match(validateResults({ ...ok, schema: 'orchid-bench/0' }).join('\n'), /results\.schema/);
  const noVerified = { ...m };
  delete noVerified.verified;
  assert.match(validateResults({ ...ok, measurements: [noVerified] }).join('\n'), /needs "verified"/);
  assert.match(validateResults({ ...ok, measurements: [{ ...m, ranks: 0 }] }).join('\n'), /measurements\[0\]\.ranks/);
  assert.match(validateResults({ ...ok, measurements: [{ ...m, kind: 'micro', kernel: undefined }] }).join('\n'), /needs "benchmark"/);
  assert.match(validateResults({ ...ok, measurements: [{ ...m, samples: [1] }] }).join('\n'), /1 samples but repeats 3/);
  assert.match(validateResults([]).join('\n'), /not an object/);
  // --profile's per-run share (schema 3); a file of the second schema reads as it is
  const profile = { wallMs: 120, share: 0.4, maxShare: 0.5, maxRank: 1, minShare: 0.3, minRank: 0, calls: [{ call: 'allreduce', count: 8, ms: 40, share: 0.33, bytes: 64 }], sentBytes: 0, sentMsgs: 0 };
  assert.deepEqual(validateResults({ ...ok, profiled: true, measurements: [{ ...m, profile }] }), []);
  assert.match(validateResults({ ...ok, measurements: [{ ...m, profile: { ...profile, maxShare: 1.5 } }] }).join('\n'), /measurements\[0\]\.profile\.maxShare/);
  assert.match(validateResults({ ...ok, measurements: [{ ...m, profile: { ...profile, calls: [{ call: 'x' }] } }] }).join('\n'), /profile\.calls/);
  assert.match(validateResults({ ...ok, measurements: [{ ...m, kind: 'micro', benchmark: 'bcast', kernel: undefined, profile }] }).join('\n'), /only a kernel measurement has "profile"/);
  assert.equal(SCHEMA, 'orchid-bench/3');
  assert.deepEqual(validateResults(upgradeResults({ ...ok, schema: 'orchid-bench/2' })), []);
});
