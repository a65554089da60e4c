// orchid's mpi transport against the OSU-style C reference (bench/c/orchid_osu.c), both run
// by the same mpiexec on 2 ranks, alternating, several runs; prints medians and ratios.
//   node bench/mpi-vs-c.mjs [--runs 5] [--json FILE]
// The C program is compiled with the mpicc of the MPI the addon is built against.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

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
const parse = (s) => s.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((r) => r.benchmark);
const run = (cmd) => parse(execFileSync(mpiexec, ['-n', opts.np, ...extra, ...cmd], { encoding: 'utf8', env: { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' } }));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const all = { c: [], js: [] };
const runs = Number(opts.runs);
for (let i = 0; i < runs; i++) {
  all.c.push(...run([exe, '--only', 'pingpong,allreduce', '--sizes', sizes, '--coll-sizes', '8,8388608', '--repeats', '3']));
  all.js.push(...run([process.execPath, here('./mpi-rank.mjs'), '--sizes', sizes, '--coll-sizes', '8,8388608', '--repeats', '3']));
  process.stderr.write(`run ${i + 1}/${runs} done\n`);
}
const med = (impl, bench, size) => median(all[impl].filter((r) => r.benchmark === bench && r.size === size).flatMap((r) => r.samples));
const rows = [];
for (const [name, label] of [['pingpong', ''], ['pingpong-into', ' (recvInto)']])
  for (const size of sizes.split(',').map(Number)) {
    const c = med('c', 'pingpong-latency', size);
    const j = med('js', `${name}-latency`, size);
    const cb = med('c', 'pingpong-bandwidth', size);
    const jb = med('js', `${name}-bandwidth`, size);
    rows.push({ what: `ping-pong ${size} B${label}`, c_us: c, orchid_us: j, diff_us: j - c, bw_ratio: jb / cb });
  }
for (const [bench, size, label] of [['allreduce', 8, 'allreduce 1 double (Float64Array(1))'], ['allreduce-number', 8, 'allreduce 1 double (a number)'], ['allreduce', 8388608, 'allreduce 8 MB']]) {
  const c = med('c', 'allreduce', size);
  const j = med('js', bench, size);
  rows.push({ what: label, c_us: c, orchid_us: j, diff_us: j - c, ratio: c / j });
}
const lib = addon.version().split('\n')[0];
console.log(`orchid mpi transport vs C (${lib}), ${opts.np} ranks, median of ${runs} runs x 3 repeats`);
console.log('| what | C µs | orchid µs | orchid − C µs | C/orchid (bandwidth or speed) |');
console.log('|---|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.what} | ${r.c_us.toFixed(2)} | ${r.orchid_us.toFixed(2)} | ${r.diff_us.toFixed(2)} | ${(r.bw_ratio ?? r.ratio).toFixed(3)} |`);
if (opts.json) writeFileSync(opts.json, JSON.stringify({ library: lib, np: opts.np, runs, rows, raw: all }, null, 1));
