// report.md and report.html (inline SVG charts) for one results file, or several side by
// side (compare): every table gets one column group per label, every chart one series per label.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesLabel, lineChart as drawChart, PALETTE, type ChartSpec, type Series } from './svg.js';
import type { Measurement, Results } from './schema.js';
import { f, pct, rateText, seriesName, uniq, type Section, type Table } from './report-format.js';
import { clusterSections, hostsSection, warningsSection } from './report-cluster.js';
import { shareSection } from './report-share.js';

const DASHES = ['', '7 4', '2 3', '10 3 2 3', '4 2'];

export function buildSections(all: Results[]): Section[] {
  const multi = all.length > 1;
  // compare: the same thing keeps its colour across labels, each label has its own line pattern
  const lineChart = (c: ChartSpec): string => {
    if (!multi) return drawChart(c);
    const labels = all.map((r) => r.label);
    const things: string[] = [];
    const series = c.series.map((s) => {
      if (s.dashed) return s;
      const label = labels.find((l) => s.name.startsWith(`${l} · `));
      const rest = label === undefined ? s.name : s.name.slice(label.length + 3);
      if (!things.includes(rest)) things.push(rest);
      const li = label === undefined ? 0 : labels.indexOf(label);
      return { ...s, color: PALETTE[things.indexOf(rest) % PALETTE.length], dash: DASHES[li % DASHES.length] };
    });
    return drawChart({ ...c, series });
  };
  const sections: Section[] = [];

  // environment
  const envRows: string[][] = [];
  const envField = (name: string, get: (r: Results) => string): void => {
    envRows.push([name, ...all.map(get)]);
  };
  envField('label', (r) => r.label);
  envField('hosts', (r) => r.environment.hostnames.join(', '));
  envField('CPU (driver host)', (r) => r.environment.cpuModel);
  envField('hosts of the jobs', (r) => (r.environment.hostDetails ?? []).map((h) => `${h.name}: ${h.cpuModel}, ${h.cores} cores, ${(h.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${h.arch}, Node ${h.node}`).join('; ') || '–');
  envField('cores (driver host)', (r) => String(r.environment.cores));
  envField('memory', (r) => `${(r.environment.memoryBytes / 2 ** 30).toFixed(1)} GiB`);
  envField('OS', (r) => `${r.environment.os} ${r.environment.arch}`);
  envField('Node', (r) => r.environment.node);
  envField('orchid', (r) => `${r.environment.orchid.version}${r.environment.orchid.git ? ` (${r.environment.orchid.git})` : ''}`);
  envField('MPI (C reference)', (r) => (r.environment.mpi ? r.environment.mpi.library : 'none'));
  envField('transports', (r) => r.environment.transports.join(', ') || 'none');
  envField('rank counts', (r) => r.rankCounts.join(', '));
  envField('mode', (r) => `${r.quick ? 'quick' : 'full'}${r.partial ? ' (interrupted: partial results)' : ''}`);
  envField('date', (r) => r.started);
  envField('load average (1 min, start → end)', (r) => (r.environment.loadAverage ? `${r.environment.loadAverage.start} → ${r.environment.loadAverage.end ?? '?'}` : '–'));
  const notes = all.flatMap((r) => r.environment.notes.map((n) => (multi ? `${r.label}: ${n}` : n)));
  const warn = warningsSection(all);
  if (warn) sections.push(warn);
  sections.push({ title: 'Environment', tables: [{ head: ['', ...all.map((r) => r.label)], rows: envRows }], charts: [], text: notes.length ? notes.map((n) => `Note: ${n}`).join('\n') : undefined });

  const failures = all.flatMap((r) => r.failures.map((x) => [r.label, x.what, x.message.split('\n')[0]!]));
  if (failures.length) sections.push({ title: 'Failures', tables: [{ head: ['label', 'what', 'message'], rows: failures }], charts: [] });
  const hostsSec = hostsSection(all);
  if (hostsSec) sections.push(hostsSec);
  sections.push(...clusterSections(all, lineChart));

  // ---- kernels ----
  const kernels = all.flatMap((r) => r.measurements.filter((m) => m.kind === 'kernel').map((m) => ({ r, m })));
  if (kernels.length) {
    const tables: Table[] = [];
    const charts: string[] = [];
    for (const scaling of ['strong', 'weak'] as const) {
      const ks = kernels.filter((k) => k.m.scaling === scaling);
      if (!ks.length) continue;
      const rows = ks.map(({ r, m }) => [
        ...(multi ? [r.label] : []), m.kernel!, m.transport, m.layout, String(m.ranks), String(m.size), f(m.median, 4), pct(m.spread), rateText(m.rate, m.rateUnit), f(m.speedup), pct(m.efficiency), m.verified ? 'yes' : '**NO**',
      ]);
      tables.push({ head: [...(multi ? ['label'] : []), 'kernel', 'transport', 'nodes × ppn', 'ranks', scaling === 'weak' ? 'size (total)' : 'size', 'median s', 'spread', 'rate', scaling === 'weak' ? 'scaled speedup' : 'speedup', 'efficiency', 'verified'], rows });
      const maxR = Math.max(...ks.map((k) => k.m.ranks));
      const series: Series[] = [];
      const effSeries: Series[] = [];
      for (const r of all) {
        for (const t of uniq(ks.filter((k) => k.r === r).map((k) => k.m.transport))) {
          for (const kn of uniq(ks.map((k) => k.m.kernel!))) {
            const pts = ks.filter((k) => k.r === r && k.m.transport === t && k.m.kernel === kn && k.m.speedup !== undefined);
            if (!pts.length) continue;
            const name = seriesName(multi, r.label, `${kn}${r.environment.transports.length > 1 ? ` (${t})` : ''}`);
            series.push({ name, points: pts.map((k) => [k.m.ranks, k.m.speedup!]) });
            effSeries.push({ name, points: pts.map((k) => [k.m.ranks, k.m.efficiency!]) });
          }
        }
      }
      const xs = uniq(ks.map((k) => k.m.ranks)).sort((a, b) => a - b);
      series.push({ name: 'ideal', points: xs.map((x) => [x, x]), dashed: true, color: '#000000' });
      effSeries.push({ name: 'ideal', points: xs.map((x) => [x, 1]), dashed: true, color: '#000000' });
      if (maxR > 1) {
        charts.push(lineChart({ title: `${scaling} scaling: ${scaling === 'weak' ? 'scaled ' : ''}speedup vs ranks`, xLabel: 'ranks', yLabel: 'speedup', series, yZero: true, xLog: true, xInt: true }));
        charts.push(lineChart({ title: `${scaling} scaling: efficiency vs ranks`, xLabel: 'ranks', yLabel: 'efficiency', series: effSeries, yZero: true, xLog: true, xInt: true }));
      }
    }
    const bad = kernels.filter((k) => !k.m.verified);
    sections.push({
      title: 'Kernels',
      text: `Each kernel checks its own answer (pi: error against Math.PI; matmul: Freivalds' check; stencil: the eigenmode decays by exactly cos^T; sort: sorted, in rank order and a permutation; primes: against a sieve). Time is the median of the repeats (each after a barrier, ending with a barrier), speedup is against 1 rank of the same kernel and transport. ${bad.length ? `**${bad.length} run(s) did not verify.**` : 'Every run verified.'}`,
      tables,
      charts,
    });
  }

  // ---- hybrid ----
  const hyb = all.flatMap((r) => r.measurements.filter((m) => m.kind === 'kernel' && m.scaling === 'hybrid').map((m) => ({ r, m })));
  if (hyb.length) {
    const rows: string[][] = [];
    for (const { r, m } of hyb) {
      const pure = r.measurements.find((x) => x.kind === 'kernel' && x.scaling === 'strong' && x.kernel === m.kernel && x.transport === m.transport && x.ranks === m.ranks * m.threads && x.threads === 1);
      rows.push([...(multi ? [r.label] : []), m.kernel!, m.transport, `${m.ranks} × ${m.threads}`, String(m.ranks * m.threads), f(m.median, 4), f(m.speedup), pct(m.efficiency), pure ? `${pure.ranks} × 1: ${f(pure.median, 4)} s` : '–', m.verified ? 'yes' : '**NO**']);
    }
    sections.push({
      title: 'Hybrid: ranks × piscina threads',
      text: 'Each rank runs a piscina pool sized to its share of the host’s cores (cores / ranks on the host, from splitShared). Compare “N ranks × 1 thread” against “1 rank × N threads” at the same total.',
      tables: [{ head: [...(multi ? ['label'] : []), 'kernel', 'transport', 'ranks × threads', 'total', 'median s', 'speedup', 'efficiency', 'pure ranks, same total', 'verified'], rows }],
      charts: [],
    });
  }

  const share = shareSection(all);
  if (share) sections.push(share);

  // ---- ping-pong ----
  const micro = all.flatMap((r) => r.measurements.filter((m) => m.kind === 'micro').map((m) => ({ r, m })));
  const ppChart = (bench: string, title: string, yLabel: string): string => {
    const series: Series[] = [];
    for (const r of all) {
      const ms = micro.filter((x) => x.r === r && x.m.benchmark === bench);
      const inter = ms.some((x) => x.m.placement === 'inter');
      for (const key of uniq(ms.map((x) => `${x.m.impl}|${x.m.transport}|${x.m.ranks}|${x.m.placement ?? ''}`))) {
        const pts = ms.filter((x) => `${x.m.impl}|${x.m.transport}|${x.m.ranks}|${x.m.placement ?? ''}` === key);
        const m0 = pts[0]!.m;
        const where = inter ? (m0.placement === 'inter' ? ', across the link' : ', inside a node') : '';
        series.push({ name: seriesName(multi, r.label, `${m0.impl === 'c-mpi' ? 'C MPI' : `orchid ${m0.transport}`}${where}`), points: pts.map((x) => [x.m.size, x.m.median]), dashed: false });
      }
    }
    return lineChart({ title, xLabel: 'message size (bytes)', yLabel, xLog: true, yLog: true, xBytes: true, series });
  };
  const pp = micro.filter((x) => x.m.benchmark === 'pingpong-latency');
  if (pp.length) {
    const cols = uniq(all.flatMap((r) => micro.filter((x) => x.r === r && x.m.benchmark === 'pingpong-latency').map((x) => `${r.label}|${x.m.impl}|${x.m.transport}|${x.m.placement ?? 'intra'}`)));
    const anyInter = cols.some((c) => c.endsWith('|inter'));
    const sizes = uniq(pp.map((x) => x.m.size)).sort((a, b) => a - b);
    const colName = (c: string): string => {
      const [label, impl, t, pl] = c.split('|');
      return `${multi ? `${label} ` : ''}${impl === 'c-mpi' ? 'C MPI' : t}${anyInter ? (pl === 'inter' ? ' across' : ' inside') : ''}`;
    };
    const get = (c: string, bench: string, size: number): Measurement | undefined => {
      const [label, impl, t, pl] = c.split('|');
      return micro.find((x) => x.r.label === label && x.m.impl === impl && x.m.transport === t && (x.m.placement ?? 'intra') === pl && x.m.benchmark === bench && x.m.size === size)?.m;
    };
    const head = ['size'];
    for (const c of cols) head.push(`${colName(c)} µs`, ...(c.includes('|orchid|') && cols.some((x) => x.includes('|c-mpi|')) ? ['× C'] : []), `${colName(c)} MB/s`);
    const rows = sizes.map((s) => {
      const row = [bytesLabel(s)];
      for (const c of cols) {
        const lat = get(c, 'pingpong-latency', s);
        row.push(f(lat?.median));
        if (c.includes('|orchid|') && cols.some((x) => x.includes('|c-mpi|'))) row.push(f(lat?.ratioToC, 1));
        row.push(f(get(c, 'pingpong-bandwidth', s)?.median, 1));
      }
      return row;
    });
    sections.push({
      title: anyInter ? 'Point-to-point: ping-pong inside a node and across the link' : 'Point-to-point: ping-pong between ranks 0 and 1',
      text: `One-way time = round trip / 2 (median of the repeats); bandwidth = size / one-way time. “× C” is orchid’s time over the C MPI reference’s (bench/c/orchid_osu.c) measured in the same run with the same pair.${anyInter ? ' “inside”: ranks 0 and 1 on the first node; “across”: rank 0 and the first rank of the second node.' : ''}`,
      tables: [{ head, rows }],
      charts: [ppChart('pingpong-latency', 'Ping-pong latency vs size', 'one-way latency (µs)'), ppChart('pingpong-bandwidth', 'Ping-pong bandwidth vs size', 'bandwidth (MB/s)')],
    });
  }

  // ---- collectives ----
  const coll = micro.filter((x) => ['bcast', 'allreduce', 'alltoall', 'barrier'].includes(x.m.benchmark!));
  if (coll.length) {
    const rows = coll
      .filter((x) => x.m.impl === 'orchid')
      .map(({ r, m }) => [...(multi ? [r.label] : []), m.benchmark!, m.transport, m.layout, String(m.ranks), m.benchmark === 'barrier' ? '–' : bytesLabel(m.size), f(m.median), pct(m.spread), f(m.ratioToC, 1)]);
    const charts: string[] = [];
    for (const b of ['bcast', 'allreduce', 'alltoall']) {
      const series: Series[] = [];
      for (const r of all) {
        const ms = coll.filter((x) => x.r === r && x.m.benchmark === b);
        for (const key of uniq(ms.map((x) => `${x.m.impl}|${x.m.transport}|${x.m.ranks}`))) {
          const pts = ms.filter((x) => `${x.m.impl}|${x.m.transport}|${x.m.ranks}` === key);
          const m0 = pts[0]!.m;
          series.push({ name: seriesName(multi, r.label, `${m0.impl === 'c-mpi' ? 'C MPI' : m0.transport} ${m0.ranks} ranks`), points: pts.map((x) => [x.m.size, x.m.median]) });
        }
      }
      if (series.length) charts.push(lineChart({ title: `${b} latency vs size`, xLabel: 'message size (bytes)', yLabel: 'latency (µs)', xLog: true, yLog: true, xBytes: true, series }));
    }
    const barrier: Series[] = [];
    for (const r of all) {
      for (const impl of ['orchid', 'c-mpi']) {
        for (const t of uniq(coll.filter((x) => x.r === r && x.m.impl === impl).map((x) => x.m.transport))) {
          const pts = coll.filter((x) => x.r === r && x.m.benchmark === 'barrier' && x.m.impl === impl && x.m.transport === t);
          if (pts.length) barrier.push({ name: seriesName(multi, r.label, impl === 'c-mpi' ? 'C MPI' : `orchid ${t}`), points: pts.map((x) => [x.m.ranks, x.m.median]) });
        }
      }
    }
    if (barrier.length) charts.push(lineChart({ title: 'barrier latency vs ranks', xLabel: 'ranks', yLabel: 'latency (µs)', yLog: true, xLog: true, xInt: true, series: barrier }));
    sections.push({
      title: 'Collectives',
      text: 'Latency = the slowest rank’s mean time per call (median of the repeats). Size is the bytes each rank contributes (alltoall: per destination).',
      tables: [{ head: [...(multi ? ['label'] : []), 'collective', 'transport', 'nodes × ppn', 'ranks', 'size', 'median µs', 'spread', '× C'], rows }],
      charts,
    });
  }

  // ---- single process ----
  const single = all.flatMap((r) => r.measurements.filter((m) => m.kind === 'single').map((m) => ({ r, m })));
  if (single.length) {
    const names = uniq(single.map((x) => x.m.benchmark!));
    const rows = names.map((n) => {
      const row = [n];
      for (const r of all) {
        const m = single.find((x) => x.r === r && x.m.benchmark === n)?.m;
        row.push(m ? `${f(m.median, 0)}` : '–', m ? bytesLabel(m.size) : '–', m ? `${((m.max - m.min) / 2 / m.median * 100).toFixed(0)}%` : '–');
      }
      return row;
    });
    sections.push({
      title: 'Single process (benchmark.js)',
      text: 'Codec (src/codec) encode/decode of typical messages and reduction kernels (reducer(op).combineInto) on 64 Ki-element typed arrays; operations per second (median of benchmark.js samples).',
      tables: [{ head: ['benchmark', ...all.flatMap((r) => [`${multi ? `${r.label} ` : ''}ops/s`, 'bytes', '±'])], rows }],
      charts: [],
    });
  }
  return sections;
}

const mdCell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const htmlEsc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderMarkdown(title: string, sections: Section[], chartNote: string): string {
  const out: string[] = [`# ${title}`, '', chartNote, ''];
  for (const s of sections) {
    out.push(`## ${s.title}`, '');
    if (s.text) out.push(s.text, '');
    for (const t of s.tables) {
      out.push(`| ${t.head.map(mdCell).join(' | ')} |`, `|${t.head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
      for (const r of t.rows) out.push(`| ${r.map(mdCell).join(' | ')} |`);
      out.push('');
    }
  }
  return out.join('\n');
}

export function renderHtml(title: string, sections: Section[]): string {
  const body: string[] = [];
  for (const s of sections) {
    body.push(`<h2>${htmlEsc(s.title)}</h2>`);
    if (s.text) body.push(`<p>${htmlEsc(s.text).replace(/\*\*(.+?)\*\*/g, '<b>$1</b>').replace(/\n/g, '<br>')}</p>`);
    if (s.charts.length) body.push(`<div class="charts">${s.charts.join('\n')}</div>`);
    for (const t of s.tables) {
      body.push('<table><thead><tr>' + t.head.map((h) => `<th>${htmlEsc(h)}</th>`).join('') + '</tr></thead><tbody>');
      for (const r of t.rows) body.push('<tr>' + r.map((c) => `<td>${htmlEsc(c).replace(/\*\*(.+?)\*\*/g, '<b class="bad">$1</b>')}</td>`).join('') + '</tr>');
      body.push('</tbody></table>');
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${htmlEsc(title)}</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1180px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 10px 0; font-size: 12px; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f0f0f0; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.charts svg { border: 1px solid #ddd; }
.bad { color: #c00; }
</style></head>
<body><h1>${htmlEsc(title)}</h1>
${body.join('\n')}
</body></html>
`;
}

export function writeReports(results: Results | Results[], dir: string): void {
  const all = Array.isArray(results) ? results : [results];
  const sections = buildSections(all);
  const title = all.length > 1 ? `orchid bench: ${all.map((r) => r.label).join(' vs ')}` : `orchid bench: ${all[0]!.label}`;
  writeFileSync(join(dir, 'report.md'), renderMarkdown(title, sections, 'Charts: see report.html (inline SVG). Raw data: ' + (all.length > 1 ? 'the compared results.json files.' : 'results.json.')) + '\n');
  writeFileSync(join(dir, 'report.html'), renderHtml(title, sections));
}
