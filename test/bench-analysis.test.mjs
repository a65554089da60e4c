// What orchid bench works out from raw samples, without running jobs: the node sweep's
// jobs, HPL's N from memory, kernel rates, speedups against one rank and one node, and the
// link matrix naming a slow host.
import assert from 'node:assert/strict';
import { test } from 'node:test';

const { nodeSweep, hplBaseFromMemory, layoutOf, kernelSpecs, QUICK } = await import('../dist/bench/plan.js');
const { kernelWork, hplWeakN } = await import('../dist/bench/kernels.js');
const { derive, linkMatrix, chooseLinkRate, warningsOf } = await import('../dist/bench/analysis.js');
const { summarize } = await import('../dist/bench/stats.js');

test('a node sweep: the one-rank baseline, then every slot of 1, 2, 4 nodes (or --ppn)', () => {
  const hosts = [1, 2, 3, 4].map((i) => ({ name: `vim${i}`, slots: 6 }));
  const jobs = nodeSweep(hosts, [1, 2, 4]);
  assert.deepEqual(jobs.map((j) => [j.layout, j.nodes, j.ranks]), [['1 rank', 1, 1], ['1 × 6', 1, 6], ['2 × 6', 2, 12], ['4 × 6', 4, 24]]);
  assert.deepEqual(jobs[2].hosts, [{ name: 'vim1', slots: 6 }, { name: 'vim2', slots: 6 }]);
  assert.deepEqual(nodeSweep(hosts, [1, 4], 2).map((j) => j.layout), ['1 rank', '1 × 2', '4 × 2']);
  // ppn 1 on one node is the baseline itself: not run twice
  assert.deepEqual(nodeSweep(hosts, [1, 2], 1).map((j) => j.layout), ['1 rank', '2 × 1']);
  assert.equal(layoutOf([6, 4]), '2 × (6, 4)');
});

test('HPL: N from memory, grown with √ranks; rates from the work of one run', () => {
  // a 3 GB board, 6 ranks, 40 %: 200 MB of matrix per rank -> N ≈ 5000 at one rank
  const base = hplBaseFromMemory(3e9, 6, 0.4);
  assert.ok(base % 8 === 0 && 8 * base * base <= 0.4 * 3e9 / 6 && 8 * (base + 8) ** 2 > 0.4 * 3e9 / 6, `base ${base}`);
  assert.equal(hplWeakN(1000, 4), 2000);
  assert.equal(hplWeakN(1000, 1), 1000);
  const w = kernelWork('hpl', 'weak', 1000, 4);
  assert.equal(w.size, 2000);
  assert.ok(Math.abs(w.work - (2 / 3 * 2000 ** 3 + 1.5 * 2000 ** 2) / 1e9) < 1e-9);
  assert.deepEqual(kernelWork('matmul', 'weak', 100, 4), { size: 400, work: 2 * 400 * 100 * 100 / 1e9 });
  assert.deepEqual(kernelWork('stencil', 'strong', 100, 4), { size: 100, work: 100 * 100 * 50 / 1e6 });
  assert.deepEqual(kernelWork('pi', 'strong', 1e6, 8), { size: 1e6, work: 1e6 });
  const specs = kernelSpecs(QUICK, 777);
  assert.equal(specs.find((s) => s.kernel === 'hpl').base, 777);
  assert.ok(!specs.some((s) => s.kernel === 'hpl' && s.scaling === 'strong'), 'HPL runs weak only');
});

const km = (o) => ({ kind: 'kernel', impl: 'orchid', transport: 'ws', threads: 1, unit: 's', verified: true, hosts: o.nodes, ...o, ...summarize([o.t]) });

test('speedup and efficiency against one rank and against one node', () => {
  const ms = [
    km({ kernel: 'pi', scaling: 'strong', ranks: 1, nodes: 1, ppn: 1, layout: '1 rank', size: 1, t: 12 }),
    km({ kernel: 'pi', scaling: 'strong', ranks: 6, nodes: 1, ppn: 6, layout: '1 × 6', size: 1, t: 2.4 }),
    km({ kernel: 'pi', scaling: 'strong', ranks: 24, nodes: 4, ppn: 6, layout: '4 × 6', size: 1, t: 0.8 }),
    km({ kernel: 'hpl', scaling: 'weak', ranks: 6, nodes: 1, ppn: 6, layout: '1 × 6', size: 1, t: 1, rate: 3 }),
    km({ kernel: 'hpl', scaling: 'weak', ranks: 24, nodes: 4, ppn: 6, layout: '4 × 6', size: 1, t: 1, rate: 9 }),
  ];
  derive(ms);
  const [, one, four, h1, h4] = ms;
  assert.equal(one.speedup, 5);
  assert.ok(Math.abs(one.efficiency - 5 / 6) < 1e-12);
  const near = (a, b) => assert.ok(Math.abs(a - b) < 1e-9, `${a} ≈ ${b}`);
  near(four.speedupVsNode, 3);
  near(four.efficiencyVsNode, 0.75);
  near(four.speedup, 15);
  // HPL compares rates: 9 GFLOP/s on 4 boards against 3 on one is 75 %
  near(h4.speedupVsNode, 3);
  near(h4.efficiencyVsNode, 0.75);
  assert.equal(h1.speedupVsNode, undefined);
  assert.equal(h4.ratePerNode, 2.25);
});

test('the link matrix flags the links of a slow host and names that host', () => {
  const pair = (a, b, mbps) => ({ a, b, latencyUs: [60, 62, 61], mbps });
  const fast = [117, 116, 118];
  const slow = [11.5, 11.8, 11.6];
  const { links, warnings } = linkMatrix([pair('n1', 'n2', fast), pair('n1', 'n3', slow), pair('n1', 'n4', fast), pair('n2', 'n3', slow), pair('n2', 'n4', fast), pair('n3', 'n4', slow)], 1000);
  assert.deepEqual(links.map((l) => Boolean(l.flag)), [false, true, false, true, false, true]);
  assert.ok(Math.abs(links[0].lineRatio - 117 / 125) < 1e-12);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^slow link: n3 — n1–n3 11\.6 MB\/s: 9 % of the 1000 Mbit\/s line rate/);
  assert.match(warnings[0], /check n3's cable and switch port, and that its link negotiated full duplex/);
  // all links alike and near line rate: nothing flagged
  assert.deepEqual(linkMatrix([pair('a', 'b', fast), pair('a', 'c', fast), pair('b', 'c', fast)], 1000).warnings, []);
  // one bad pair with no host common to the bad ones: the pair is named
  const one = linkMatrix([pair('a', 'b', fast), pair('a', 'c', slow), pair('b', 'c', fast)], 1000);
  assert.match(one.warnings.join(), /slow link: a–c/);
  // all at 40 % of a 1 Gbit/s line (a 100 Mbit/s-class switch?): every pair flagged against the line rate
  assert.equal(linkMatrix([pair('a', 'b', [50, 50, 50])], 1000).links[0].flag, '50.0 MB/s: 40 % of the 1000 Mbit/s line rate');
});

test('the line rate: --link-rate, else what every host reports, else 1 Gbit/s', () => {
  const d = (name, address, speed) => ({ name, address, links: [{ iface: 'eth0', speedMbps: speed, duplex: 'full', operstate: 'up', addresses: [address] }] });
  assert.deepEqual(chooseLinkRate(100, [], ['a', 'b']), { mbps: 100, source: '--link-rate' });
  assert.equal(chooseLinkRate(undefined, [d('a', '10.0.0.1', 1000), d('b', '10.0.0.2', 100)], ['a', 'b']).mbps, 100);
  assert.match(chooseLinkRate(undefined, [d('a', '10.0.0.1', 1000), d('b', '10.0.0.2', null)], ['a', 'b']).source, /^default/);
});

test('warnings: load above the cores, efficiency over 105 %, spread over 20 %, throttling, versions', () => {
  const host = (name, node) => ({ name, node, orchid: '0.1.0', mpi: 'MPICH 4.0.2', arch: 'arm64', cores: 6, loadAverage: [0.1], governor: 'schedutil', links: [] });
  const r = {
    environment: { cores: 2, loadAverage: { start: 3.5 }, hostnames: ['head'], hostDetails: [host('vim1', 'v20.20.2'), host('vim2', 'v22.1.0')] },
    measurements: [
      { ...km({ kernel: 'matmul', scaling: 'strong', ranks: 2, nodes: 1, ppn: 2, layout: '1 × 2', size: 1, t: 1 }), efficiency: 1.2 },
      { ...km({ kernel: 'sort', scaling: 'strong', ranks: 2, nodes: 1, ppn: 2, layout: '1 × 2', size: 1, t: 1 }), ...summarize([1, 1.5, 1]) },
      { ...km({ kernel: 'pi', scaling: 'strong', ranks: 2, nodes: 1, ppn: 2, layout: '1 × 2', size: 1, t: 1 }), thermal: [{ host: 'vim2', throttled: 'temperature 86 °C at or above the passive trip point 85 °C' }] },
    ],
  };
  const w = warningsOf(r).join('\n');
  assert.match(w, /load average 3\.5 at the start is above this host's 2 cores/);
  assert.match(w, /matmul strong 1 × 2 \(ws\): efficiency 120 % \(over 105 %\): superlinear/);
  assert.match(w, /sort strong 1 × 2 \(ws\): the repeats spread 50 %/);
  assert.match(w, /throttling on vim2: pi strong 1 × 2 \(ws\): temperature 86 °C/);
  assert.match(w, /Node differs across hosts/);
  assert.doesNotMatch(w, /pi strong 1 × 2 \(ws\): the repeats spread/);
});
