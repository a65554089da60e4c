// Ping-pong: orchid's ws transport between 2 ranks against a raw TCP ping-pong between two
// Node processes, in the same invocation, alternating runs; prints medians and ratios.
//   npm run bench:pingpong [-- --runs 5] [--json FILE]
// ORCHID_WS_UNIX=0 makes the orchid ranks use TCP between them too (default: Unix socket).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const { values: opts } = parseArgs({ options: { runs: { type: 'string', default: '5' }, json: { type: 'string' }, tcp: { type: 'boolean', default: false } } });
const runs = Number(opts.runs);

const parse = (out) => out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
const raw = () => parse(execFileSync(process.execPath, [here('./rawtcp.mjs')], { encoding: 'utf8' }));
const orchid = (unix) =>
  parse(
    execFileSync(process.execPath, [here('../dist/cli/orchidrun.js'), '-n', '2', '--transport', 'ws', here('./pingpong-rank.mjs')], {
      encoding: 'utf8',
      env: { ...process.env, ORCHID_WS_UNIX: unix ? '1' : '0' },
    }),
  );

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const series = { raw: [], unix: [], tcp: [] };
for (let i = 0; i < runs; i++) {
  series.raw.push(raw());
  series.unix.push(orchid(true));
  series.tcp.push(orchid(false));
  process.stderr.write(`run ${i + 1}/${runs} done\n`);
}

const sizes = series.raw[0].map((r) => r.size);
const med = (name, size) => median(series[name].map((run) => run.find((r) => r.size === size).usRoundTrip));
const rows = sizes.map((size) => {
  const r = med('raw', size);
  const u = med('unix', size);
  const t = med('tcp', size);
  return { size, rawUs: r / 2, orchidUnixUs: u / 2, orchidTcpUs: t / 2, rawMBs: size / (r / 2), orchidUnixMBs: size / (u / 2), orchidTcpMBs: size / (t / 2) };
});

const fmt = (x, d = 1) => x.toFixed(d);
console.log(`ping-pong, median of ${runs} runs; one-way time = round trip / 2; ratio = orchid / raw TCP (time), raw / orchid for bandwidth`);
console.log('| size | raw TCP µs | orchid unix µs | ratio | orchid tcp µs | ratio | raw MB/s | orchid unix MB/s | bw ratio | orchid tcp MB/s | bw ratio |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows)
  console.log(`| ${r.size} | ${fmt(r.rawUs)} | ${fmt(r.orchidUnixUs)} | ${fmt(r.orchidUnixUs / r.rawUs, 2)} | ${fmt(r.orchidTcpUs)} | ${fmt(r.orchidTcpUs / r.rawUs, 2)} | ${fmt(r.rawMBs, 0)} | ${fmt(r.orchidUnixMBs, 0)} | ${fmt(r.orchidUnixMBs / r.rawMBs, 2)} | ${fmt(r.orchidTcpMBs, 0)} | ${fmt(r.orchidTcpMBs / r.rawMBs, 2)} |`);
if (opts.json) writeFileSync(opts.json, JSON.stringify({ benchmark: 'pingpong', runs, rows, series }, null, 1));
