// The report sections that answer a cluster builder's questions: the warnings first, what
// each host is (core types, clocks, temperatures, link, versions), the link matrix and
// point-to-point inside a node against across the link, kernel rates by node count, and
// HPL against the HPC Challenge's. In a comparison every table has one column group per label.
import type { HostInfo } from './hostinfo.js';
import type { Measurement, Results } from './schema.js';
import type { Series } from './svg.js';
import { bytesLabel } from './svg.js';
import { f, pct, rateText, seriesName, uniq, type DrawChart, type Section } from './report-format.js';

export function warningsSection(all: Results[]): Section | undefined {
  const multi = all.length > 1;
  const ws = all.flatMap((r) => (r.warnings ?? []).map((w) => (multi ? `${r.label}: ${w}` : w)));
  if (!ws.length) return undefined;
  return { title: 'Warnings', text: ws.map((w) => `- **Warning:** ${w}`).join('\n'), tables: [], charts: [] };
}

const gib = (b: number | null | undefined): string => (b ? `${(b / 2 ** 30).toFixed(1)} GiB` : '–');
const mhz = (all: Array<number | null> | undefined | null): string => {
  const xs = (all ?? []).filter((x): x is number => x !== null);
  return xs.length ? `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} MHz` : '–';
};

export function hostsSection(all: Results[]): Section | undefined {
  const multi = all.length > 1;
  const rows: string[][] = [];
  for (const r of all) {
    for (const h of (r.environment.hostDetails ?? []) as Array<HostInfo & { address?: string }>) {
      const link = h.address ? h.links.find((l) => l.addresses.some((a) => a.split('/')[0] === h.address)) : undefined;
      const temps = h.temperatures.map((t) => t.celsius);
      rows.push([
        ...(multi ? [r.label] : []), h.name, `${h.cpuModel}${h.board ? ` (${h.board})` : ''}`, String(h.cores), h.governor ?? '–',
        h.freqMHz ? `${mhz(h.freqMHz.cur)} (max ${mhz(h.freqMHz.max)})` : '–', temps.length ? `${Math.max(...temps).toFixed(0)} °C` : '–',
        h.throttle ? `${h.throttle.source}: ${h.throttle.count ?? '?'}${h.throttle.flags.length ? ` (${h.throttle.flags.join(', ')})` : ''}` : '–',
        `${gib(h.memoryBytes)}${h.memAvailableBytes ? ` (${gib(h.memAvailableBytes)} free)` : ''}`,
        link ? `${link.iface} ${link.speedMbps ?? '?'} Mbit/s ${link.duplex ?? ''}`.trim() : '–', `${h.arch}, Node ${h.node}, orchid ${h.orchid}, ${h.mpi ?? 'no MPI'}`,
      ]);
    }
  }
  if (!rows.length) return undefined;
  return {
    title: 'Hosts',
    text: 'What decides results on small boards, as each host reports it at the start of its first job: core types (big.LITTLE boards list each kind), the frequency governor and clocks, the hottest thermal zone, throttling counters, memory, the link its ranks use and the versions.',
    tables: [{ head: [...(multi ? ['label'] : []), 'host', 'CPU', 'cores', 'governor', 'clock now (max)', 'temperature', 'throttling', 'memory', 'link', 'versions'], rows }],
    charts: [],
  };
}

/** Node count when the run swept nodes, rank count when it swept ranks on one host. */
const xOf = (r: Results, m: Measurement): number => (r.sweep === 'nodes' ? m.nodes : m.ranks);

export function clusterSections(all: Results[], lineChart: DrawChart): Section[] {
  const multi = all.length > 1;
  const out: Section[] = [];

  // ---- the network ----
  const links = all.flatMap((r) => (r.links ?? []).map((l) => ({ r, l })));
  const p2p = all.flatMap((r) => r.measurements.filter((m) => m.kind === 'micro' && m.placement && m.benchmark?.startsWith('pingpong')).map((m) => ({ r, m })));
  if (links.length || p2p.some((x) => x.m.placement === 'inter')) {
    const tables = [];
    if (links.length) {
      tables.push({
        head: [...(multi ? ['label'] : []), 'link', 'latency µs', 'MB/s', 'spread', 'line rate', '× line', 'flag'],
        rows: links.map(({ r, l }) => [...(multi ? [r.label] : []), `${l.a} – ${l.b}`, f(l.latencyUs), f(l.median, 1), pct(l.spread), `${l.lineMbps} Mbit/s`, f(l.lineRatio), l.flag ? `**${l.flag}**` : 'ok']),
      });
    }
    // inside a node against across the link, at the sizes users care about
    const sizes = [8, 4096, 65536, 1 << 20, 4 << 20];
    const rows: string[][] = [];
    for (const r of all) {
      for (const impl of uniq(p2p.filter((x) => x.r === r).map((x) => `${x.m.impl}|${x.m.transport}`))) {
        for (const pl of ['intra', 'inter'] as const) {
          const get = (b: string, s: number): Measurement | undefined => p2p.find((x) => x.r === r && `${x.m.impl}|${x.m.transport}` === impl && x.m.placement === pl && x.m.benchmark === b && x.m.size === s)?.m;
          if (!get('pingpong-latency', 8)) continue;
          const bw = get('pingpong-bandwidth', 4 << 20);
          rows.push([...(multi ? [r.label] : []), impl.replace('orchid|', 'orchid ').replace('c-mpi|c-mpi', 'C MPI'), pl === 'intra' ? 'inside a node' : 'across the link',
            ...sizes.map((s) => f(get('pingpong-latency', s)?.median)), f(bw?.median, 1), pl === 'inter' ? f(bw?.lineRatio) : '–']);
        }
      }
    }
    if (rows.length) tables.push({ head: [...(multi ? ['label'] : []), 'implementation', 'pair', ...sizes.map((s) => `${bytesLabel(s)} µs`), '4M MB/s', '× line'], rows });
    const rate = all.map((r) => r.environment.linkRate).find(Boolean);
    out.push({
      title: 'Network: the link matrix, inside a node and across the link',
      text: `Every pair of hosts measured in turn with one rank on each (ws): one-way latency of 8 B and the bandwidth of a stream of 4 MB messages, against the line rate (${rate ? `${rate.mbps} Mbit/s, ${rate.source}` : 'none given'}). A link below 80 % of the line rate, or well below the others, is flagged; TCP over gigabit Ethernet tops out near 0.94× line rate. The ping-pong rows put the pair inside one node (ranks 0 and 1) and across the link (rank 0 and the first rank of the second node).`,
      tables,
      charts: [],
    });
  }

  // ---- rates by node count ----
  const ks = all.flatMap((r) => r.measurements.filter((m) => m.kind === 'kernel' && m.rate !== undefined && m.scaling !== 'hybrid').map((m) => ({ r, m })));
  if (ks.length) {
    const nodeSweep = all.some((r) => r.sweep === 'nodes');
    const rows = ks.map(({ r, m }) => [
      ...(multi ? [r.label] : []), m.kernel!, m.scaling!, m.transport, m.layout, String(m.ranks), rateText(m.rate, m.rateUnit), rateText(m.ratePerNode, m.rateUnit),
      f(m.speedup), pct(m.efficiency), m.nodes > 1 ? f(m.speedupVsNode) : '–', m.nodes > 1 ? pct(m.efficiencyVsNode) : '–', m.verified ? 'yes' : '**NO**',
    ]);
    const charts: string[] = [];
    for (const kn of uniq(ks.map((k) => k.m.kernel!))) {
      const series: Series[] = [];
      for (const r of all) {
        for (const key of uniq(ks.filter((k) => k.r === r && k.m.kernel === kn).map((k) => `${k.m.transport}|${k.m.scaling}`))) {
          const [t, sc] = key.split('|');
          // the baseline (one rank) is not a node count: leave it out of a node sweep's line
          const pts = ks.filter((k) => k.r === r && k.m.kernel === kn && k.m.transport === t && k.m.scaling === sc && (r.sweep !== 'nodes' || k.m.layout !== '1 rank'));
          if (pts.length) series.push({ name: seriesName(multi, r.label, `${sc} (${t})`), points: pts.map((k) => [xOf(r, k.m), k.m.rate!]) });
        }
      }
      const unit = ks.find((k) => k.m.kernel === kn)!.m.rateUnit!;
      if (series.length) charts.push(lineChart({ title: `${kn}: rate vs ${nodeSweep ? 'nodes' : 'ranks'}`, xLabel: nodeSweep ? 'nodes (every slot of each)' : 'ranks', yLabel: unit, series, yZero: true, xLog: true, xInt: true }));
    }
    out.push({
      title: nodeSweep ? 'Rates by node count' : 'Rates by rank count',
      text: `Rates are the work of one run over its median time: pi intervals/s, matmul and HPL GFLOP/s, stencil million cell-updates/s, sort million keys/s, primes numbers tested/s; “per node” divides by the nodes. Speedup and efficiency are against one rank${nodeSweep ? ' and against one node (the single board, every slot)' : ''} of the same kernel, scaling and transport; weak scaling keeps the work per rank (HPL: the matrix memory per rank, so N grows with √ranks and its efficiency compares rates).`,
      tables: [{ head: [...(multi ? ['label'] : []), 'kernel', 'scaling', 'transport', 'nodes × ppn', 'ranks', 'rate', 'per node', 'vs 1 rank', 'eff.', 'vs 1 node', 'eff.', 'verified'], rows }],
      charts,
    });
  }

  // ---- HPL and the HPC Challenge ----
  const hpl = all.flatMap((r) => r.measurements.filter((m) => m.kernel === 'hpl' && m.rate !== undefined).map((m) => ({ r, m })));
  const hpcc = all.flatMap((r) => (r.hpcc ?? []).map((h) => ({ r, h })));
  if (hpl.length || hpcc.length) {
    const rows: string[][] = [];
    for (const r of all) {
      for (const layout of uniq([...hpl.filter((x) => x.r === r).map((x) => x.m.layout), ...hpcc.filter((x) => x.r === r).map((x) => x.h.layout)])) {
        const ref = hpcc.find((x) => x.r === r && x.h.layout === layout)?.h;
        for (const t of uniq(hpl.filter((x) => x.r === r && x.m.layout === layout).map((x) => x.m.transport)).concat(hpl.some((x) => x.r === r && x.m.layout === layout) ? [] : ['–'])) {
          const m = hpl.find((x) => x.r === r && x.m.layout === layout && x.m.transport === t)?.m;
          const nodes = m?.nodes ?? ref?.nodes ?? 1;
          rows.push([...(multi ? [r.label] : []), layout, t, m ? String(m.size) : ref ? String(ref.n) : '–', f(m?.rate), f(m?.ratePerNode), ref ? f(ref.hplGflops) : '–', ref ? f(ref.hplGflops / nodes) : '–',
            m?.rate && ref ? f(m.rate / ref.hplGflops, 3) : '–', m?.efficiencyVsNode !== undefined ? pct(m.efficiencyVsNode) : '–', ref ? (ref.passed ? 'passed' : '**FAILED**') : '–']);
        }
      }
    }
    const refRows = hpcc.map(({ r, h }) => {
      const v = (k: string): string => (typeof h.summary[k] === 'number' ? f(h.summary[k] as number) : '–');
      return [...(multi ? [r.label] : []), h.layout, `${h.n} (${h.p}×${h.q}, NB ${h.nb})`, f(h.hplGflops), v('StarDGEMM_Gflops'), v('StarSTREAM_Triad'), v('PTRANS_GBs'), v('MPIRandomAccess_GUPs'), v('RandomlyOrderedRingLatency_usec'), v('RandomlyOrderedRingBandwidth_GBytes')];
    });
    const blas = uniq(all.map((r) => r.environment.hpcc?.blas).filter(Boolean)).join('; ');
    const charts: string[] = [];
    const series: Series[] = [];
    for (const r of all) {
      for (const t of uniq(hpl.filter((x) => x.r === r).map((x) => x.m.transport))) series.push({ name: seriesName(multi, r.label, `orchid HPL (${t})`), points: hpl.filter((x) => x.r === r && x.m.transport === t && (r.sweep !== 'nodes' || x.m.layout !== '1 rank')).map((x) => [xOf(r, x.m), x.m.rate!]) });
      const hs = hpcc.filter((x) => x.r === r && (r.sweep !== 'nodes' || x.h.layout !== '1 rank'));
      if (hs.length) series.push({ name: seriesName(multi, r.label, 'hpcc HPL'), points: hs.map((x) => [r.sweep === 'nodes' ? x.h.nodes : x.h.ranks, x.h.hplGflops]) });
    }
    if (series.length) charts.push(lineChart({ title: 'HPL GFLOP/s', xLabel: all.some((r) => r.sweep === 'nodes') ? 'nodes' : 'ranks', yLabel: 'GFLOP/s', series, yZero: true, xLog: true, xInt: true }));
    out.push({
      title: 'HPL: the number clusters are compared by',
      text: `orchid's HPL kernel (TypeScript): LU with partial pivoting of a random N×N system on a P×Q grid, 2-D block-cyclic, verified by HPL's scaled residual ‖Ax−b‖∞ / (ε (‖A‖∞‖x‖∞ + ‖b‖∞) N) < 16; GFLOP/s = (2/3 N³ + 3/2 N²) / time. Beside it the HPC Challenge's HPL (hpcc, C with BLAS) on the same hosts, ranks and N${blas ? `, BLAS: ${blas}` : ''}; “× hpcc” is orchid's rate over hpcc's.`,
      tables: [
        { head: [...(multi ? ['label'] : []), 'nodes × ppn', 'transport', 'N', 'orchid GFLOP/s', 'per node', 'hpcc GFLOP/s', 'per node', '× hpcc', 'weak eff. vs 1 node', 'hpcc check'], rows },
        ...(refRows.length ? [{ head: [...(multi ? ['label'] : []), 'nodes × ppn', 'N (grid, NB)', 'HPL GFLOP/s', 'StarDGEMM GFLOP/s', 'StarSTREAM Triad GB/s', 'PTRANS GB/s', 'MPIRandomAccess GUP/s', 'ring latency µs', 'ring bandwidth GB/s'], rows: refRows }] : []),
      ],
      charts,
    });
  }
  return out;
}
