#!/usr/bin/env node
// Merge several results.json of the same setup into one whose every measurement is the
// median over the runs (all repeats pooled): what BENCHMARKS.md reports.
//   node bench/merge-runs.mjs OUT_DIR run1/results.json run2/results.json …
// Writes OUT_DIR/results.json, report.md and report.html.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { derive } from '../dist/bench/runner.js';
import { writeReports } from '../dist/bench/report.js';
import { validateResults } from '../dist/bench/schema.js';
import { median, summarize } from '../dist/bench/stats.js';

const [out, ...files] = process.argv.slice(2);
if (!out || files.length === 0) {
  console.error('usage: node bench/merge-runs.mjs OUT_DIR results.json…');
  process.exit(2);
}
const runs = files.map((f) => {
  const r = JSON.parse(readFileSync(f, 'utf8'));
  const errors = validateResults(r);
  if (errors.length) throw new Error(`${f}: ${errors.slice(0, 3).join('; ')}`);
  return r;
});
const key = (m) => [m.kind, m.kernel ?? m.benchmark, m.impl, m.transport, m.ranks, m.threads, m.scaling ?? '', m.size].join('|');
const groups = new Map();
for (const r of runs) for (const m of r.measurements) {
  if (!groups.has(key(m))) groups.set(key(m), []);
  groups.get(key(m)).push(m);
}
const measurements = [];
for (const ms of groups.values()) {
  const first = ms[0];
  // the median of the per-run medians; min/max/spread over every repeat of every run
  const s = summarize(ms.flatMap((m) => m.samples));
  const m = { ...first, ...s, median: median(ms.map((x) => x.median)), spread: s.median > 0 ? (s.max - s.min) / median(ms.map((x) => x.median)) : 0, detail: first.detail };
  delete m.speedup;
  delete m.efficiency;
  delete m.ratioToC;
  if (first.kind === 'kernel') m.verified = ms.every((x) => x.verified);
  measurements.push(m);
}
derive(measurements);
const merged = {
  ...runs[0],
  label: runs[0].label,
  partial: runs.some((r) => r.partial),
  started: runs[0].started,
  finished: runs[runs.length - 1].finished,
  command: `${runs[0].command}  (median of ${runs.length} runs: bench/merge-runs.mjs)`,
  environment: {
    ...runs[0].environment,
    transports: [...new Set(runs.flatMap((r) => r.environment.transports))],
    orchid: runs.map((r) => r.environment.orchid).find((x) => x.git) ?? runs[0].environment.orchid,
    mpi: runs.map((r) => r.environment.mpi).find(Boolean) ?? null,
    notes: [...new Set(runs.flatMap((r) => r.environment.notes)), `median of ${runs.length} runs; load average (1 min) at start of each: ${runs.map((r) => r.environment.loadAverage?.start ?? '?').join(', ')}`] },
  measurements,
  failures: runs.flatMap((r) => r.failures),
};
const errors = validateResults(merged);
if (errors.length) throw new Error(errors.join('\n'));
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'results.json'), JSON.stringify(merged, null, 1) + '\n');
writeReports(merged, out);
console.log(`merged ${runs.length} runs, ${measurements.length} measurements -> ${out}`);
