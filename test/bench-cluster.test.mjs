// orchid bench on the emulated cluster (4 hosts × 2 slots, 1 Gbit/s links): the link matrix
// naming the slow host while node3's link is throttled to 100 Mbit/s by tc; then, the link
// mended, the node sweep (1 rank, 1, 2 and 4 nodes), rates, HPL verified, each kernel run's
// communication share (--profile), point-to-point inside a node and across the link, the HPC
// Challenge run over the same hosts, and `compare` against a run with other node counts.
// Two runs, not one: with the slow link in the sweep, hpcc's all-pairs and ring bandwidth tests
// at 4 × 2 took 182 s instead of 34 s, and tested nothing more. Time bounds only catch hangs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { clusterSkip, clusterUp, setLinkRate, waitHostsClean } from './helpers/cluster.mjs';
import { ORCHID } from './helpers/run.mjs';

const { validateResults } = await import('../dist/bench/schema.js');
const CI = Boolean(process.env.CI);
const hasHpcc = spawnSync('sh', ['-c', 'command -v hpcc']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'orchid-bench-cluster-'));

function bench(args, timeoutMs) {
  // the four emulated hosts share this machine's cores: hpcc's ranks must yield while they wait
  const r = spawnSync(process.execPath, [ORCHID, 'bench', ...args], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, CI: '1', ORCHID_BENCH_SHARED_CORES: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

describe('orchid bench across nodes on 4 emulated hosts', clusterSkip(), () => {
  let c;
  let res;
  const out = join(dir, 'cluster');
  const hostfile = join(dir, 'hosts');
  /** `orchid bench --quick` on the 4 hosts over ws, its results.json checked against the schema */
  const benchCluster = (skip, dest, extra = []) => {
    const t0 = Date.now();
    const r = bench(['--quick', '-f', hostfile, '--ssh', c.ssh, '--link-rate', '1000', '--transport', 'ws', '--skip', skip, ...extra, '--out', dest, '--label', 'emu-x4'], 880_000);
    console.log(`# bench --skip ${skip} on the cluster took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    assert.equal(r.code, 0, `exit ${r.code} ${r.signal ?? ''}\n${r.stderr.slice(-4000)}`);
    const got = JSON.parse(readFileSync(join(dest, 'results.json'), 'utf8'));
    assert.deepEqual(validateResults(got), []);
    // every host described, with the link its ranks used
    assert.deepEqual(got.environment.hostDetails.map((h) => h.name).sort(), ['node1', 'node2', 'node3', 'node4']);
    assert.deepEqual(got.environment.linkRate, { mbps: 1000, source: '--link-rate' });
    return { r, res: got, md: readFileSync(join(dest, 'report.md'), 'utf8') };
  };
  before(() => {
    c = clusterUp(4);
    writeFileSync(hostfile, c.hosts.map((h) => `${h.name}:2`).join('\n') + '\n');
  });
  after(() => c?.down());

  test('the link matrix names the slow host: node3 at a tenth of the others\' line rate', { timeout: 300_000 }, async () => {
    setLinkRate(c.hosts[2], '100mbit', '64kb');
    let links;
    try {
      links = benchCluster('micro,kernels,hybrid,single,c,hpcc', join(dir, 'links'));
    } finally {
      setLinkRate(c.hosts[2]);
    }
    const { r, res: lr, md } = links;
    // 6 pairs, node3's flagged and named
    assert.equal(lr.links.length, 6);
    for (const l of lr.links) {
      const slow = l.a === 'node3' || l.b === 'node3';
      if (slow) assert.ok(l.flag && l.lineRatio < 0.15, `${l.a}–${l.b}: ${l.median} MB/s, flag ${l.flag}`);
      // (the others share this machine's two cores with the ranks: near line rate when it is quiet)
      else assert.ok(l.lineRatio > 0.5, `${l.a}–${l.b} at ${l.lineRatio} of line rate`);
    }
    const w = lr.warnings.filter((x) => x.startsWith('slow link: node3 — '));
    assert.equal(w.length, 1, lr.warnings.join('\n'));
    assert.match(w[0], /node1–node3 .*node2–node3 .*node3–node4 .*check node3's cable and switch port.*duplex/);
    assert.ok(!lr.warnings.some((x) => /^slow link: node[124]–node3 /.test(x)), 'node3 named once, not pair by pair');
    assert.match(r.stderr, /warning: slow link: node3/);
    assert.match(md, /## Warnings[\s\S]*slow link: node3/);
    assert.match(md, /## Network: the link matrix/);
    assert.match(md, /\| node1 – node3 \|/);
    assert.deepEqual(await waitHostsClean(c, 15_000), [], 'nothing left on the hosts');
  });

  test('the node sweep: 1 rank, 1, 2 and 4 nodes × 2, rates, HPL verified, communication shares, hpcc beside it', { timeout: 900_000 }, async () => {
    const run = benchCluster('hybrid,single,c,links', out, ['--profile']);
    res = run.res;
    assert.equal(res.sweep, 'nodes');
    assert.deepEqual(res.nodeCounts, [1, 2, 4]);
    assert.deepEqual(res.failures, []);
    const ks = res.measurements.filter((m) => m.kind === 'kernel');
    for (const [layout, nodes, ranks] of [['1 rank', 1, 1], ['1 × 2', 1, 2], ['2 × 2', 2, 4], ['4 × 2', 4, 8]]) {
      for (const k of ['pi', 'matmul', 'stencil', 'sort', 'primes', 'hpl']) {
        const m = ks.find((x) => x.kernel === k && x.layout === layout && (k === 'hpl' || x.scaling === 'strong'));
        assert.ok(m, `${k} at ${layout}`);
        assert.equal(m.nodes, nodes);
        assert.equal(m.ranks, ranks);
        assert.equal(m.hosts, nodes, `${k} at ${layout} ran on ${m.hosts} hosts`);
        assert.equal(m.verified, true, `${k} ${layout}: ${m.detail}`);
        assert.ok(m.rate > 0 && Number.isFinite(m.rate) && m.rateUnit, `${k} ${layout} rate ${m.rate} ${m.rateUnit}`);
        assert.ok(Math.abs(m.ratePerNode * nodes - m.rate) < 1e-9 * m.rate);
        if (nodes > 1) assert.ok(m.speedupVsNode > 0 && m.efficiencyVsNode > 0, `${k} ${layout} against one node`);
      }
    }
    // --profile: the stencil's halo rows along the chain of ranks, exactly, at every node count;
    // its ranks spend some, never all, of their time in orchid calls
    for (const layout of ['1 × 2', '2 × 2', '4 × 2']) {
      const st = ks.find((x) => x.kernel === 'stencil' && x.scaling === 'strong' && x.layout === layout);
      const p = st.profile;
      assert.equal(p.sentMsgs, 2 * (st.ranks - 1) * 50 * st.repeats, `stencil at ${layout}: one row each way per neighbour pair and sweep`);
      assert.ok(p.share > 0 && p.share < 1 && p.maxShare < 1, `stencil at ${layout}: ${JSON.stringify(p)}`);
    }
    // plausible rates for one core of this machine and its share of 2 cores
    const hpl1 = ks.find((x) => x.kernel === 'hpl' && x.layout === '1 rank');
    assert.equal(hpl1.rateUnit, 'GFLOP/s');
    assert.ok(hpl1.rate > 0.01 && hpl1.rate < 50, `HPL at 1 rank: ${hpl1.rate} GFLOP/s`);
    const pi1 = ks.find((x) => x.kernel === 'pi' && x.scaling === 'strong' && x.layout === '1 rank');
    assert.ok(pi1.rate > 1e6 && pi1.rate < 1e11, `pi at 1 rank: ${pi1.rate} intervals/s`);
    // the link mended: no slow-link warning, and the link matrix left out as asked
    assert.deepEqual(res.links, []);
    assert.ok(!res.warnings.some((x) => x.startsWith('slow link')), res.warnings.join('\n'));
    // point-to-point inside a node and across the link, collectives at every node count
    const pp = (placement) => res.measurements.find((m) => m.benchmark === 'pingpong-bandwidth' && m.impl === 'orchid' && m.placement === placement && m.size === 4 << 20);
    assert.ok(pp('intra') && pp('inter'), 'ping-pong inside and across');
    assert.equal(pp('inter').layout, '2 × 2');
    assert.ok(pp('inter').lineRatio > 0 && pp('inter').lineRatio < 1.01, `across at ${pp('inter').lineRatio} of line rate`);
    for (const layout of ['1 × 2', '2 × 2', '4 × 2']) assert.ok(res.measurements.some((m) => m.benchmark === 'allreduce' && m.layout === layout), `allreduce at ${layout}`);
    // the HPC Challenge on the same hosts and ranks
    if (hasHpcc) {
      assert.deepEqual(res.hpcc.map((h) => h.layout), ['1 rank', '1 × 2', '2 × 2', '4 × 2']);
      for (const h of res.hpcc) {
        assert.equal(h.passed, true, `hpcc ${h.layout}`);
        assert.ok(h.hplGflops > 0);
        assert.equal(h.summary.CommWorldProcs, h.ranks);
        const mine = ks.find((x) => x.kernel === 'hpl' && x.layout === h.layout);
        assert.equal(h.n, mine.size, `hpcc ran HPL at orchid's N (${h.layout})`);
      }
      assert.ok(res.environment.hpcc.blas, 'the BLAS hpcc ran with is recorded');
    } else {
      assert.ok(!CI, 'hpcc is installed in CI by .ci/run');
      assert.match(res.environment.notes.join('\n'), /hpcc not found \(Debian\/Ubuntu: apt-get install hpcc/);
    }
    const { md } = run;
    assert.match(md, /## Rates by node count/);
    assert.match(md, /## Communication share[^#]*\| kernel \| scaling \| transport \| 1 rank \| 1 × 2 \| 2 × 2 \| 4 × 2 \|\n[^#]*\| stencil \| strong \| ws \|( [0-9.]+%[^|]*\|){4}/);
    assert.match(md, /## HPL: the number clusters are compared by/);
    assert.deepEqual(await waitHostsClean(c, 15_000), [], 'nothing left on the hosts');
  });

  test('compare: this run against one with other node counts, side by side', { timeout: 120_000 }, () => {
    assert.ok(res, 'needs the cluster run');
    // the same cluster at 1 and 2 nodes only, its rates a fifth lower: another cluster's file
    const other = structuredClone(res);
    other.label = 'other-x2';
    other.nodeCounts = [1, 2];
    other.measurements = other.measurements.filter((m) => m.nodes <= 2).map((m) => ({ ...m, rate: m.rate && m.rate * 0.8, ratePerNode: m.ratePerNode && m.ratePerNode * 0.8 }));
    other.hpcc = other.hpcc.filter((h) => h.nodes <= 2);
    const otherFile = join(dir, 'other.json');
    writeFileSync(otherFile, JSON.stringify(other));
    const cmp = join(dir, 'cmp');
    const r = bench(['compare', join(out, 'results.json'), otherFile, '--out', cmp], 60_000);
    assert.equal(r.code, 0, r.stderr);
    const md = readFileSync(join(cmp, 'report.md'), 'utf8');
    assert.match(md, /# orchid bench: emu-x4 vs other-x2/);
    const rates = md.slice(md.indexOf('## Rates by node count'));
    assert.match(rates, /\| emu-x4 \| hpl \| weak \| ws \| 4 × 2 \|/);
    assert.match(rates, /\| other-x2 \| hpl \| weak \| ws \| 2 × 2 \|/);
    assert.doesNotMatch(rates.slice(0, rates.indexOf('\n## ')), /\| other-x2 \| hpl \| weak \| ws \| 4 × 2 \|/);
    const html = readFileSync(join(cmp, 'report.html'), 'utf8');
    assert.match(html, /emu-x4 · orchid HPL \(ws\)/);
    assert.match(html, /other-x2 · orchid HPL \(ws\)/);
  });
});
