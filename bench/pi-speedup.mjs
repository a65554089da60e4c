#!/usr/bin/env node
// The performance goal of the benchmark issue: the pi kernel on 2 ranks against 1 rank.
// Alternates 1-rank and 2-rank jobs (so a load change on a shared machine hits both),
// each job one warm-up and REPEATS timed runs of the verified pi kernel (10^9 intervals),
// and prints every pair and the median speedup, with the load average.
//   node bench/pi-speedup.mjs [--pairs 5] [--n 1000000000] [--transport ws] [--json FILE]
// --vs-transport mpi: instead, ranks that fill every core (np = --np, default the core count)
// on --transport against the same job on the other transport: the progress machinery of the
// mpi transport must cost no compute (the time ratio within 3 %).
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { launch } from '../dist/launcher/index.js';
import { median } from '../dist/bench/stats.js';

const { values: o } = parseArgs({ options: { pairs: { type: 'string', default: '5' }, n: { type: 'string', default: '1000000000' }, transport: { type: 'string', default: 'ws' }, repeats: { type: 'string', default: '5' }, json: { type: 'string' }, 'vs-transport': { type: 'string' }, np: { type: 'string', default: String(availableParallelism()) } } });
const RANK = fileURLToPath(new URL('../dist/bench/rank.js', import.meta.url));
const spec = { kernels: [{ kernel: 'pi', scaling: 'strong', base: Number(o.n), repeats: Number(o.repeats) }] };

async function run(np, transport = o.transport) {
  const job = launch({ np, script: RANK, args: [JSON.stringify(spec)], transport, timeout: 600 });
  let k;
  for await (const l of job.output) if (l.text.startsWith('@orchid-bench ')) {
    const x = JSON.parse(l.text.slice(14));
    if (x.type === 'kernel') k = x;
  }
  const r = await job.done;
  if (r.code !== 0 || !k?.verified) throw new Error(`pi on ${np} ranks (${transport}) failed: ${r.message ?? k?.detail}`);
  return median(k.samples);
}

const pairs = [];
if (o['vs-transport']) {
  const np = Number(o.np);
  const [a, b] = [o.transport, o['vs-transport']];
  for (let i = 0; i < Number(o.pairs); i++) {
    const load = loadavg()[0];
    const ta = await run(np, a);
    const tb = await run(np, b);
    pairs.push({ [a]: ta, [b]: tb, ratio: tb / ta, load });
    console.log(`pair ${i + 1}: ${np} ranks on ${a} ${ta.toFixed(3)} s, on ${b} ${tb.toFixed(3)} s, ${b}/${a} ${(tb / ta).toFixed(3)} (load ${load.toFixed(2)})`);
  }
  const r = median(pairs.map((p) => p.ratio));
  console.log(`pi, ${o.n} intervals, ${np} ranks: median time ${b}/${a} ${r.toFixed(3)} over ${pairs.length} pairs; goal within 3 %: ${Math.abs(r - 1) <= 0.03 ? 'met' : 'not met'}`);
  if (o.json) writeFileSync(o.json, JSON.stringify({ n: Number(o.n), np, transports: [a, b], pairs }, null, 1));
  process.exit(0);
}
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
