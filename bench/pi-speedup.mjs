#!/usr/bin/env node
// The performance goal of the benchmark issue: the pi kernel on 2 ranks against 1 rank.
// Alternates 1-rank and 2-rank jobs (so a load change on a shared machine hits both),
// each job one warm-up and REPEATS timed runs of the verified pi kernel (10^9 intervals),
// and prints every pair and the median speedup, with the load average.
//   node bench/pi-speedup.mjs [--pairs 5] [--n 1000000000] [--transport ws] [--json FILE]
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { launch } from '../dist/launcher/index.js';
import { median } from '../dist/bench/stats.js';

const { values: o } = parseArgs({ options: { pairs: { type: 'string', default: '5' }, n: { type: 'string', default: '1000000000' }, transport: { type: 'string', default: 'ws' }, repeats: { type: 'string', default: '5' }, json: { type: 'string' } } });
const RANK = fileURLToPath(new URL('../dist/bench/rank.js', import.meta.url));
const spec = { kernels: [{ kernel: 'pi', scaling: 'strong', base: Number(o.n), repeats: Number(o.repeats) }] };

async function run(np) {
  const job = launch({ np, script: RANK, args: [JSON.stringify(spec)], transport: o.transport, timeout: 600 });
  let k;
  for await (const l of job.output) if (l.text.startsWith('@orchid-bench ')) {
    const x = JSON.parse(l.text.slice(14));
    if (x.type === 'kernel') k = x;
  }
  const r = await job.done;
  if (r.code !== 0 || !k?.verified) throw new Error(`pi on ${np} ranks failed: ${r.message ?? k?.detail}`);
  return median(k.samples);
}

const pairs = [];
for (let i = 0; i < Number(o.pairs); i++) {
  const load = loadavg()[0];
  const t1 = await run(1);
  const t2 = await run(2);
  pairs.push({ t1, t2, speedup: t1 / t2, load });
  console.log(`pair ${i + 1}: 1 rank ${t1.toFixed(3)} s, 2 ranks ${t2.toFixed(3)} s, speedup ${(t1 / t2).toFixed(2)}x (load ${load.toFixed(2)})`);
}
const s = pairs.map((p) => p.speedup);
console.log(`pi, ${o.n} intervals, ${o.transport}: median speedup 2 vs 1 rank ${median(s).toFixed(2)}x (best ${Math.max(...s).toFixed(2)}x, worst ${Math.min(...s).toFixed(2)}x) over ${pairs.length} pairs`);
if (o.json) writeFileSync(o.json, JSON.stringify({ n: Number(o.n), transport: o.transport, pairs }, null, 1));
