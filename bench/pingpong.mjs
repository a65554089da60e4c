// Ping-pong: orchid's ws transport between 2 ranks against a raw socket ping-pong between two
// Node processes (bench/rawtcp.mjs), Unix socket against Unix socket and TCP against TCP, in
// the same invocation, alternating runs (raw-unix, orchid-unix, raw-tcp, orchid-tcp). Prints
// per size the medians and the best of the runs, the ratios orchid/raw, and whether the goals
// of issue 11 hold (judged on medians, best-of beside).
//   npm run bench:pingpong [-- --runs 5] [--json FILE]
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const { values: opts } = parseArgs({ options: { runs: { type: 'string', default: '5' }, json: { type: 'string' } } });
const runs = Number(opts.runs);
if (!(runs >= 1)) throw new Error('--runs must be a positive number');

const parse = (out) => out.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
// The raw processes get the glibc settings orchidrun gives its ranks (src/launcher/job.ts; the
// caller's own win there too), so the reference allocates memory the way the ranks do.
const MALLOC = { MALLOC_MMAP_THRESHOLD_: String(32 << 20), MALLOC_TRIM_THRESHOLD_: String(64 << 20) };
const raw = (unix) =>
  parse(execFileSync(process.execPath, [here('./rawtcp.mjs'), ...(unix ? ['--unix'] : [])], { encoding: 'utf8', env: { ...MALLOC, ...process.env } }));
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

const started = new Date();
const load = loadavg();
const KINDS = ['rawUnix', 'orchidUnix', 'rawTcp', 'orchidTcp'];
const run1 = { rawUnix: () => raw(true), orchidUnix: () => orchid(true), rawTcp: () => raw(false), orchidTcp: () => orchid(false) };
const series = Object.fromEntries(KINDS.map((k) => [k, []]));
for (let i = 0; i < runs; i++) {
  for (const k of KINDS) series[k].push(run1[k]());
  process.stderr.write(`run ${i + 1}/${runs} done\n`);
}

const sizes = series.rawUnix[0].map((r) => r.size);
/** one-way µs of `kind` at `size` in each run */
const oneWay = (kind, size) => series[kind].map((run) => run.find((r) => r.size === size).usRoundTrip / 2);
const rows = sizes.map((size) => {
  const row = { size };
  for (const k of KINDS) {
    const xs = oneWay(k, size);
    row[k] = { medianUs: median(xs), bestUs: Math.min(...xs), runsUs: xs };
  }
  // time ratio orchid/raw (latency); the bandwidth ratio is its inverse
  row.unix = { median: row.orchidUnix.medianUs / row.rawUnix.medianUs, best: row.orchidUnix.bestUs / row.rawUnix.bestUs };
  row.tcp = { median: row.orchidTcp.medianUs / row.rawTcp.medianUs, best: row.orchidTcp.bestUs / row.rawTcp.bestUs };
  return row;
});

const f = (x, d = 1) => x.toFixed(d);
const mbs = (size, us) => f(size / us, 0);
const label = (s) => (s >= 1 << 20 ? `${s >> 20} MB` : s >= 1024 ? `${s >> 10} KB` : `${s} B`);
console.log(`ping-pong, ${runs} runs, ${started.toISOString()}, load average ${load.map((x) => x.toFixed(2)).join(' ')}`);
console.log('one-way time = round trip / 2 (µs), median of the runs and [best of the runs]; ratio = orchid / raw time (< 1 is faster); bw = raw / orchid time (> 1 is faster), shown from 32 KB');
console.log('| size | raw unix µs | orchid unix µs | unix ratio (best) | unix bw ratio (best) | raw tcp µs | orchid tcp µs | tcp ratio (best) | tcp bw ratio (best) |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const bw = (x) => (r.size >= 32768 ? `${f(1 / x.median, 2)} (${f(1 / x.best, 2)})` : '');
  const t = (k) => `${f(r[k].medianUs)} [${f(r[k].bestUs)}]`;
  console.log(`| ${label(r.size)} | ${t('rawUnix')} | ${t('orchidUnix')} | ${f(r.unix.median, 2)} (${f(r.unix.best, 2)}) | ${bw(r.unix)} | ${t('rawTcp')} | ${t('orchidTcp')} | ${f(r.tcp.median, 2)} (${f(r.tcp.best, 2)}) | ${bw(r.tcp)} |`);
}
console.log('| size | raw unix MB/s | orchid unix MB/s | raw tcp MB/s | orchid tcp MB/s |  (median [best])');
for (const r of rows.filter((x) => x.size >= 32768)) {
  const b = (k) => `${mbs(r.size, r[k].medianUs)} [${mbs(r.size, r[k].bestUs)}]`;
  console.log(`| ${label(r.size)} | ${b('rawUnix')} | ${b('orchidUnix')} | ${b('rawTcp')} | ${b('orchidTcp')} |`);
}

// The goals of issue 11, judged on medians; best-of beside.
const goals = [
  { name: '8 B latency <= 1.1x raw', sizes: [8], ok: (x) => x <= 1.1, show: (x) => `${f(x, 2)}x` },
  { name: '32 KB-1 MB time <= 1.3x raw', sizes: sizes.filter((s) => s >= 32768 && s <= 1 << 20), ok: (x) => x <= 1.3, show: (x) => `${f(x, 2)}x` },
  { name: '4 MB bandwidth >= 0.85x raw', sizes: [4 << 20], ok: (x) => 1 / x >= 0.85, show: (x) => `${f(1 / x, 2)}x bw` },
];
const verdicts = [];
for (const g of goals) {
  for (const side of ['unix', 'tcp']) {
    const rs = rows.filter((r) => g.sizes.includes(r.size));
    if (rs.length === 0) continue;
    const med = Math.max(...rs.map((r) => r[side].median));
    const best = Math.max(...rs.map((r) => r[side].best));
    const met = rs.every((r) => g.ok(r[side].median));
    verdicts.push({ goal: g.name, side, met, worstMedian: med, worstBest: best });
    console.log(`goal ${g.name} (${side}): ${met ? 'met' : 'NOT met'}: worst median ${g.show(med)}, worst best-of ${g.show(best)}${met || rs.every((r) => g.ok(r[side].best)) ? '' : ' (best-of not met either)'}`);
  }
}
if (opts.json) writeFileSync(opts.json, JSON.stringify({ benchmark: 'pingpong', started: started.toISOString(), loadavg: load, runs, rows, verdicts, series }, null, 1));
