// orchidrun's mpiexec conventions in real jobs on this host (fork bootstrap): MPMD sections
// that talk to each other, -configfile, -genv/-env/-x reaching the ranks, --display-map,
// --bind-to core with --report-bindings, --output-filename. The cluster versions (ssh, --map-by
// node) are in cluster.test.mjs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { orchidrun, ROOT } from './helpers/run.mjs';

const MASTER = join(ROOT, 'test/programs/mpmd/master.mjs');
const WORKER = join(ROOT, 'test/programs/mpmd/worker.mjs');
const T = { timeoutMs: 120_000 };
const result = (stdout) => JSON.parse(/^MPMD (.*)$/m.exec(stdout)[1]);
const allowed = () => {
  const m = /^Cpus_allowed_list:\s*(.*)$/m.exec(readFileSync('/proc/self/status', 'utf8'))[1];
  const out = [];
  for (const part of m.split(',')) {
    const [a, b = a] = part.split('-').map(Number);
    for (let c = a; c <= b; c++) out.push(c);
  }
  return out;
};

test('MPMD: -n 1 master : -n 3 worker is one world of 4 that exchanges messages; -genv, -env, -x reach the ranks', { timeout: 180_000 }, async () => {
  const r = await orchidrun(
    ['-genv', 'OT_G', 'global', '-x', 'OT_X', '--display-map', '-n', '1', '-env', 'OT_L', 'master-only', MASTER, 'm1', ':', '-n', '3', '--env', 'OT_L=workers', WORKER, 'w1', 'w2'],
    { ...T, env: { OT_X: 'from-the-launcher' } },
  );
  assert.equal(r.code, 0, r.stderr);
  const res = result(r.stdout);
  assert.equal(res.size, 4);
  assert.deepEqual(res.answers, [{ from: 1, result: 11 }, { from: 2, result: 22 }, { from: 3, result: 33 }]);
  assert.deepEqual(res.all.map((x) => [x.rank, x.role, x.appnum, x.args]), [
    [0, 'master', '0', ['m1']],
    [1, 'worker', '1', ['w1', 'w2']],
    [2, 'worker', '1', ['w1', 'w2']],
    [3, 'worker', '1', ['w1', 'w2']],
  ]);
  assert.deepEqual(res.all.map((x) => x.env), [
    { G: 'global', L: 'master-only', X: 'from-the-launcher' },
    ...[1, 2, 3].map(() => ({ G: 'global', L: 'workers', X: 'from-the-launcher' })),
  ]);
  // --display-map: one block before any rank's output
  const lines = r.stdout.split('\n');
  assert.match(lines[0], /JOB MAP/);
  assert.equal(lines[1], '4 ranks on 1 host, mapped by slot, bound to none');
  assert.match(lines[2], new RegExp(`^ {2}${hostname()} +4 ranks: 0-3$`));
  assert.match(lines[3], /^ {2}section 1: master\.mjs m1: rank 0$/);
  assert.match(lines[4], /^ {2}section 2: worker\.mjs w1 w2: ranks 1-3$/);
  assert.match(lines[5], /^=+$/);

  // -x NAME=VALUE; -genv NAME=VALUE; a section without -n has 1 rank
  const x = await orchidrun(['-x', 'OT_X=v,with,commas', '-genv', 'OT_G=g', MASTER, ':', WORKER], T);
  assert.equal(x.code, 0, x.stderr);
  assert.deepEqual(result(x.stdout).all.map((a) => a.env), [
    { G: 'g', X: 'v,with,commas' },
    { G: 'g', X: 'v,with,commas' },
  ]);
});

test('MPMD: -configfile, one section per line', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'orchid-mpmd-'));
  const cf = join(dir, 'job.conf');
  writeFileSync(cf, [`# master and workers`, `-n 1 -env OT_L "the master" ${MASTER} 'arg one'`, '', `-n 2 ${WORKER}   # two workers`, ''].join('\n'));
  const r = await orchidrun(['-genv', 'OT_G', '1', '-configfile', cf], T);
  assert.equal(r.code, 0, r.stderr);
  const res = result(r.stdout);
  assert.equal(res.size, 3);
  assert.deepEqual(res.answers, [{ from: 1, result: 11 }, { from: 2, result: 22 }]);
  assert.deepEqual(res.all.map((x) => [x.role, x.args, x.env.L, x.env.G]), [
    ['master', ['arg one'], 'the master', '1'],
    ['worker', [], undefined, '1'],
    ['worker', [], undefined, '1'],
  ]);
});

test('MPMD and aliases: bad sections and unknown flags are clear errors (exit 2)', { timeout: 120_000 }, async () => {
  for (const [argv, re] of [
    [['-n', '1', MASTER, ':', '-n', '0', WORKER], /^orchidrun: section 2: -n must be a positive integer, got "0"\n/],
    [['-n', '1', MASTER, ':', '-n', '2'], /^orchidrun: section 2: no script given\n/],
    [['-n', '1', MASTER, ':', '-n', '2', 'nothere.mjs'], /^orchidrun: section 2 \(nothere\.mjs\): script not found: nothere\.mjs\n/],
    [['--map-by', 'socket', MASTER], /^orchidrun: --map-by must be node or slot, got "socket"\n/],
    [['--bind-to-core', MASTER], /^orchidrun: unknown option "--bind-to-core"\n/],
  ]) {
    const r = await orchidrun(argv, T);
    assert.equal(r.code, 2, `${argv.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});

test('--bind-to core --report-bindings: each rank pinned to one core in rank order, wrapping; reported on its stderr', { timeout: 180_000 }, async () => {
  const cpus = allowed();
  const np = cpus.length + 1; // one more than the cores: the last wraps to the first core
  const r = await orchidrun(['--bind-to', 'core', '--report-bindings', '-n', '1', MASTER, ':', '-n', String(np - 1), WORKER], T);
  assert.equal(r.code, 0, r.stderr);
  const want = Array.from({ length: np }, (_, i) => String(cpus[i % cpus.length]));
  assert.deepEqual(result(r.stdout).all.map((x) => x.cpus), want, 'Cpus_allowed_list inside each rank');
  for (let rank = 0; rank < np; rank++) {
    assert.match(r.stderr, new RegExp(`^\\[${hostname()}\\] rank ${rank} bound to core ${want[rank]} \\(cpus ${want[rank]}\\)$`, 'm'));
  }
  // --report-bindings alone: not bound, all cpus
  const none = await orchidrun(['--report-bindings', '-n', '1', MASTER, ':', WORKER], T);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stderr, new RegExp(`^\\[${hostname()}\\] rank 1 is not bound \\(cpus ${cpus.length > 1 ? `${cpus[0]}-${cpus.at(-1)}` : cpus[0]}\\)$`, 'm'));
});

test('--output-filename DIR: each rank\'s stdout and stderr in DIR/1/rank.N/, as Open MPI 4 lays it out', { timeout: 180_000 }, async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'orchid-out-')), 'out');
  const r = await orchidrun(['--output-filename', dir, '-n', '1', MASTER, ':', '-n', '2', WORKER], T);
  assert.equal(r.code, 0, r.stderr);
  const read = (rank, stream) => readFileSync(join(dir, '1', `rank.${rank}`, stream), 'utf8');
  assert.match(read(0, 'stdout'), /^MPMD \{.*\}\n$/);
  assert.equal(read(0, 'stderr'), '');
  for (const w of [1, 2]) {
    assert.equal(read(w, 'stdout'), `worker ${w} done\n`);
    assert.equal(read(w, 'stderr'), `worker ${w} stderr\n`);
  }
  // and the terminal still gets everything (as Open MPI 4 does)
  assert.match(r.stdout, /^worker 1 done$/m);
  assert.match(r.stderr, /^worker 2 stderr$/m);
});

const { probeAddon } = await import('../dist/transport/mpi/addon.js');
const mpi = probeAddon();
const noMpi = mpi.available ? false : `the addon is not built: ${mpi.reason}`;

test('--transport mpi: MPMD runs under mpiexec (one world, per-section env), --display-map; what it cannot do is refused by name', { skip: process.env.CI ? false : noMpi, timeout: 180_000 }, async () => {
  const r = await orchidrun(['--transport', 'mpi', '--display-map', '-genv', 'OT_G', 'g', '-n', '1', '-env', 'OT_L', 'm', MASTER, 'a1', ':', '-n', '2', '-env', 'OT_L', 'w', WORKER], T);
  assert.equal(r.code, 0, r.stderr);
  const res = result(r.stdout);
  assert.equal(res.size, 3);
  assert.deepEqual(res.answers, [{ from: 1, result: 11 }, { from: 2, result: 22 }]);
  assert.deepEqual(res.all.map((x) => [x.role, x.appnum, x.args, x.env.G, x.env.L]), [
    ['master', '0', ['a1'], 'g', 'm'],
    ['worker', '1', [], 'g', 'w'],
    ['worker', '1', [], 'g', 'w'],
  ]);
  assert.match(r.stdout, /^ {2}section 2: worker\.mjs: ranks 1-2$/m);
  if (mpi.flavor === 'mpich') {
    const rb = await orchidrun(['--transport', 'mpi', '--report-bindings', '-n', '1', MASTER, ':', WORKER], T);
    assert.equal(rb.code, 2);
    assert.match(rb.stderr, /^orchidrun: --report-bindings with --transport mpi: MPICH's mpiexec \(Hydra\) cannot report bindings; use --transport ws\n/);
  }
});
