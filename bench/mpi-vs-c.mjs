// orchid's mpi transport against the OSU-style C reference (bench/c/orchid_osu.c), both run
// by the same mpiexec on 2 ranks, alternating, several runs; prints medians, ratios, the 8 B
// latency percentiles of both, and whether the transport's goals hold.
//   node bench/mpi-vs-c.mjs [--runs 5] [--json FILE] [--np 2]
// The C program is compiled with the mpicc of the MPI the addon is built against
// (ORCHID_MPI_ADDON picks another addon, e.g. one built against Open MPI).
//
// A reference that is off makes every ratio wrong (orchid "faster than C"), so the C figures
// are checked: before each C run nothing of the previous orchid run may be left running, the
// load of other processes during the runs is reported, and after the alternating runs C runs
// twice more on its own ("quiet reruns"). A row whose C median is more than 1.5x off its
// quiet reruns gets no ratio and no verdict, and says so.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compareRow, median, OFF, pct } from './mpi-analysis.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const { values: opts } = parseArgs({ options: { runs: { type: 'string', default: '5' }, json: { type: 'string' }, np: { type: 'string', default: '2' } } });
const { loadAddon } = await import(here('../dist/transport/mpi/addon.js'));
const { findMpiexec } = await import(here('../dist/launcher/mpiexec.js'));
const { addon, error } = loadAddon();
if (!addon) throw new Error(error);
const mpiexec = findMpiexec(addon.flavor).path;
const mpicc = addon.flavor === 'openmpi' ? 'mpicc.openmpi' : 'mpicc.mpich';
const exe = join(mkdtempSync(join(tmpdir(), 'orchid-osu-')), 'orchid_osu');
execFileSync(mpicc, ['-O2', '-o', exe, here('./c/orchid_osu.c')]);
const extra = addon.flavor === 'openmpi' ? ['--oversubscribe', '--allow-run-as-root'] : [];
const sizes = '8,64,512,4096,32768,262144,1048576,4194304';
const common = ['--sizes', sizes, '--coll-sizes', '8,8388608', '--repeats', '3', '--dist', '8'];
const parse = (s) => s.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((r) => r.benchmark);
const env = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };
const run = (cmd) => parse(execFileSync(mpiexec, ['-n', opts.np, ...extra, ...cmd], { encoding: 'utf8', env, maxBuffer: 64 << 20 }));
const runC = () => run([exe, '--only', 'pingpong,fresh,allreduce', ...common]);
const runJs = () => run([process.execPath, here('./mpi-rank.mjs'), ...common]);

/** Processes of an earlier orchid or C run still alive (they would take the C run's cores). */
function leftovers() {
  const out = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (/bench\/mpi-rank\.mjs|orchid_osu/.test(cmd)) out.push(`${pid} ${cmd.slice(0, 80)}`);
    } catch {
      /* gone */
    }
  }
  return out;
}
async function noLeftovers(what) {
  for (let waited = 0; ; waited += 100) {
    const left = leftovers();
    if (left.length === 0) return;
    if (waited === 0) process.stderr.write(`before ${what}: still running from the previous run: ${left.join('; ')}\n`);
    if (waited >= 10_000) throw new Error(`before ${what}: processes of the previous run did not end within 10 s: ${left.join('; ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** CPU time of the whole machine and of our own (waited-for) children, in clock ticks. */
function cpuTicks() {
  const [, ...f] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const busy = f.reduce((a, b) => a + b, 0) - f[3] - (f[4] ?? 0);
  const st = readFileSync('/proc/self/stat', 'utf8');
  const g = st.slice(st.lastIndexOf(')') + 2).split(' ').map(Number);
  return { busy, children: g[13] + g[14], at: Date.now() };
}

const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const all = { c: [], js: [], quiet: [] };
const runs = Number(opts.runs);
const t0 = cpuTicks();
for (let i = 0; i < runs; i++) {
  await noLeftovers('the C run');
  all.c.push(...runC());
  await noLeftovers('the orchid run');
  all.js.push(...runJs());
  process.stderr.write(`run ${i + 1}/${runs} done\n`);
}
const t1 = cpuTicks();
await new Promise((r) => setTimeout(r, 1000));
for (let i = 0; i < 2; i++) {
  await noLeftovers('the quiet C rerun');
  all.quiet.push(...runC());
}
const hz = 100; // USER_HZ
const otherCpu = Math.max(0, (t1.busy - t0.busy - (t1.children - t0.children)) / hz / ((t1.at - t0.at) / 1000));

const med = (impl, bench, size) => median(all[impl].filter((r) => r.benchmark === bench && r.size === size).flatMap((r) => r.samples));
const rows = [];
const row = (what, cBench, jsBench, size, bw) => {
  const figures = { c: med('c', cBench, size), quiet: med('quiet', cBench, size), orchid: med('js', jsBench, size) };
  if (bw) Object.assign(figures, { cBw: med('c', cBench.replace('latency', 'bandwidth'), size), orchidBw: med('js', jsBench.replace('latency', 'bandwidth'), size) });
  const r = compareRow(what, figures, bw);
  rows.push(r);
  return r;
};
for (const [name, label] of [['pingpong', ''], ['pingpong-into', ' (recvInto)']])
  for (const size of sizes.split(',').map(Number)) row(`ping-pong ${size} B${label}`, 'pingpong-latency', `${name}-latency`, size, size >= 4096);
// recv() hands out a new array per message: C doing the same (every message into memory
// mapped for it, huge pages asked for as orchid's pool does) is the floor of that path
for (const size of [1048576, 4194304]) row(`ping-pong ${size} B, C also into fresh memory`, 'pingpong-fresh-latency', 'pingpong-latency', size, true);
const arF64 = row('allreduce 1 double (Float64Array(1))', 'allreduce', 'allreduce', 8);
const arNum = row('allreduce 1 double (a number)', 'allreduce', 'allreduce-number', 8);
row('allreduce 8 MB', 'allreduce', 'allreduce', 8388608);

const dist = (impl) => all[impl].filter((r) => r.benchmark === 'pingpong-dist' && r.size === 8).flatMap((r) => r.samples);
const cd = dist('c');
const jd = dist('js');
const firstK = all.js.filter((r) => r.benchmark === 'pingpong-dist').map((r) => r.samples.slice(0, 1000));

const lib = addon.version().split('\n')[0].replace(/\s+/g, ' ').trim();
const f2 = (x) => (x === undefined ? '—' : x.toFixed(2));
console.log(`orchid mpi transport vs C (${lib}), ${opts.np} ranks, median of ${runs} alternating runs x 3 repeats; ${new Date().toISOString()}`);
console.log(`load average at the start ${load0}; other processes used ${otherCpu.toFixed(2)} cores on average during the runs`);
console.log('| what | C µs | C alone µs (quiet rerun) | orchid µs | orchid − C µs | orchid/C bandwidth or C/orchid speed |');
console.log('|---|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const ratio = r.steady ? f2(r.bw_ratio ?? r.speed_ratio) : `refused: C ${f2(r.c_us)} µs in the runs, ${f2(r.quiet_c_us)} µs alone (more than ${OFF}x apart)`;
  console.log(`| ${r.what} | ${f2(r.c_us)} | ${f2(r.quiet_c_us)} | ${f2(r.orchid_us)} | ${f2(r.diff_us)} | ${ratio} |`);
}
console.log('');
console.log(`8 B one-way, every timed iteration of every run: C p50 ${f2(pct(cd, 50))} p90 ${f2(pct(cd, 90))} p99 ${f2(pct(cd, 99))} µs (${cd.length} samples);` +
  ` orchid p50 ${f2(pct(jd, 50))} p90 ${f2(pct(jd, 90))} p99 ${f2(pct(jd, 99))} µs (${jd.length})`);
console.log(`orchid 8 B p50 of each run's first 1000 iterations: ${firstK.map((s) => f2(pct(s, 50))).join(', ')} µs`);

const byName = (w) => rows.find((r) => r.what === w);
const goals = [
  ['8 B one-way within 1.5 µs of C (median)', byName('ping-pong 8 B'), (r) => r.diff_us <= 1.5],
  ['8 B p99 within 3x its p50 (no second mode)', { steady: true }, () => pct(jd, 99) <= 3 * pct(jd, 50)],
  ['allreduce of a number within 3 µs of C', arNum, (r) => r.diff_us <= 3],
  ['allreduce of a Float64Array(1) within 2 µs of C', arF64, (r) => r.diff_us <= 2],
  ['4 MiB recv() >= 0.8x C bandwidth', byName('ping-pong 4194304 B'), (r) => r.bw_ratio >= 0.8],
  ['4 MiB recv() >= 0.8x C bandwidth when C also receives into fresh memory', byName('ping-pong 4194304 B, C also into fresh memory'), (r) => r.bw_ratio >= 0.8],
  ['4 MiB recvInto() >= 0.95x C bandwidth', byName('ping-pong 4194304 B (recvInto)'), (r) => r.bw_ratio >= 0.95],
];
for (const [what, r, ok] of goals) console.log(`goal: ${what}: ${!r.steady ? 'no verdict (C off its quiet rerun)' : ok(r) ? 'met' : 'not met'}`);
if (opts.json) writeFileSync(opts.json, JSON.stringify({ library: lib, np: opts.np, runs, load: load0, otherCpu, rows, raw: all }, null, 1));
