// Single-process micro-benchmarks with the `benchmark` package: the codec on typical
// messages and the reduction kernels on typed arrays.
import { createRequire } from 'node:module';
import { decode, encode } from '../codec/index.js';
import { reducer } from '../comm/ops.js';
import type { Measurement } from './schema.js';
import { summarize } from './stats.js';

const require = createRequire(import.meta.url);

interface BenchLike {
  name: string;
  hz: number;
  stats: { sample: number[]; rme: number };
  error?: unknown;
}

function typicalMessages(): Array<{ name: string; value: unknown }> {
  return [
    { name: 'small object', value: { op: 'update', id: 42, step: 7, values: [1.5, 2.5, 3.5], done: false } },
    { name: 'string 1 KiB', value: 'x'.repeat(1024) },
    { name: 'array of 100 records', value: Array.from({ length: 100 }, (_, i) => ({ id: i, name: `item${i}`, score: i * 0.5 })) },
    { name: 'Float64Array 1 Ki', value: new Float64Array(1024).map((_, i) => i * 0.25) },
    { name: 'Float64Array 128 Ki', value: new Float64Array(131072).map((_, i) => i) },
  ];
}

/** Run the suite; `maxTime` seconds per benchmark (benchmark.js option). */
export async function runSingle(opts: { maxTime: number; onCycle?: (name: string) => void; shouldStop?: () => boolean }): Promise<Measurement[]> {
  const Benchmark = require('benchmark') as { Suite: new (name?: string) => any };
  const suite = new Benchmark.Suite('orchid single-process');
  const sizes = new Map<string, number>();
  for (const { name, value } of typicalMessages()) {
    const pkt = encode(value, 'bench');
    sizes.set(`codec encode: ${name}`, pkt.bytes.length);
    sizes.set(`codec decode: ${name}`, pkt.bytes.length);
    suite.add(`codec encode: ${name}`, () => encode(value, 'bench'), { maxTime: opts.maxTime, minSamples: 5 });
    suite.add(`codec decode: ${name}`, () => decode(pkt), { maxTime: opts.maxTime, minSamples: 5 });
  }
  const n = 65536;
  const cases: Array<[string, string, () => { acc: any; x: any }]> = [
    ['sum', 'Float64Array', () => ({ acc: new Float64Array(n).fill(1), x: new Float64Array(n).fill(2) })],
    ['max', 'Float64Array', () => ({ acc: new Float64Array(n).fill(1), x: new Float64Array(n).map((_, i) => i) })],
    ['sum', 'Float32Array', () => ({ acc: new Float32Array(n).fill(1), x: new Float32Array(n).fill(2) })],
    ['sum', 'Int32Array', () => ({ acc: new Int32Array(n).fill(1), x: new Int32Array(n).fill(2) })],
    ['bxor', 'Int32Array', () => ({ acc: new Int32Array(n).fill(1), x: new Int32Array(n).fill(3) })],
  ];
  for (const [op, type, make] of cases) {
    const r = reducer(op, 'bench');
    const { acc, x } = make();
    const name = `reduce ${op} ${type} 64 Ki (combineInto)`;
    sizes.set(name, x.byteLength);
    suite.add(name, () => r.combineInto(acc, x), { maxTime: opts.maxTime, minSamples: 5 });
  }
  const out: Measurement[] = [];
  await new Promise<void>((resolve) => {
    suite.on('cycle', (ev: { target: BenchLike }) => {
      const b = ev.target;
      opts.onCycle?.(b.name);
      if (b.error || !b.stats.sample.length) return;
      const s = summarize(b.stats.sample.map((sec) => 1 / sec));
      out.push({ kind: 'single', benchmark: b.name, impl: 'orchid', transport: 'none', ranks: 1, hosts: 1, nodes: 1, ppn: 1, layout: '1 rank', threads: 1, size: sizes.get(b.name) ?? 0, unit: 'ops/s', ...s });
      if (opts.shouldStop?.()) suite.abort();
    });
    suite.on('complete', () => resolve());
    suite.on('abort', () => resolve());
    suite.run({ async: true });
  });
  return out;
}
