// The native (mpi) transport around the conformance suite: the install without MPI, the
// choice of transport when the addon is missing, a mismatched mpiexec, a rank dying inside
// an MPI collective, the event loop while MPI waits, and exact-size receive buffers.
// MPI parts skip (with the reason) when the addon is not built here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { envWithoutOrchid, ROOT, orchidrun, run, startOrchidrun, TIME_SCALE, waitDead } from './helpers/run.mjs';

const NATIVE = join(ROOT, 'test/native');
const { loadAddon } = await import('../dist/transport/mpi/addon.js');
const { findMpiexec } = await import('../dist/launcher/mpiexec.js');
const { addon, error } = loadAddon();
const noAddon = addon ? false : `the addon is not built: ${error}`;
const flavor = addon?.flavor;
const other = flavor === 'mpich' ? 'openmpi' : 'mpich';
const otherExec = addon ? findMpiexec(other).path : undefined;

/** A PATH with everything of /usr/bin and /bin but no MPI tools (mpicc, mpiexec, …). */
function pathWithoutMpi() {
  const dir = mkdtempSync(join(tmpdir(), 'orchid-nompi-'));
  for (const src of ['/usr/local/bin', '/usr/bin', '/bin']) {
    let names = [];
    try {
      names = readdirSync(src);
    } catch {
      continue;
    }
    for (const n of names) {
      if (/^(mpi|ompi|orte|hydra)/.test(n)) continue;
      try {
        symlinkSync(join(src, n), join(dir, n));
      } catch {
        /* first one wins */
      }
    }
  }
  return dir;
}

test('install without MPI: the install script skips cleanly with one line', () => {
  const empty = mkdtempSync(join(tmpdir(), 'orchid-nopc-'));
  const env = { ...process.env, PATH: pathWithoutMpi(), PKG_CONFIG_PATH: '', PKG_CONFIG_LIBDIR: empty };
  delete env.ORCHID_MPI;
  const r = spawnSync(process.execPath, [join(ROOT, 'native/install.mjs')], { env, encoding: 'utf8', cwd: ROOT });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, r.stdout);
  assert.match(lines[0], /native MPI transport skipped .*no MPI found.*ws transport will be used.*apt-get install mpich libmpich-dev/);
});

test('without the addon: --transport mpi is a clear error, --transport auto runs on ws', async () => {
  const env = { ORCHID_MPI_ADDON: '/nonexistent/orchid_mpi.node' };
  const bad = await orchidrun(['-n', '2', '--transport', 'mpi', join(NATIVE, 'hello.mjs')], { env });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /the mpi transport is not available: the native addon is not built .*install MPICH/);
  const auto = await orchidrun(['-n', '2', '--transport', 'auto', join(NATIVE, 'hello.mjs')], { env });
  assert.equal(auto.code, 0, auto.stderr);
  assert.match(auto.stdout, /hello 0\/2 transport=ws/);
  assert.match(auto.stdout, /hello 1\/2 transport=ws/);
});

test('binding.gyp (node-gyp) and native/CMakeLists.txt (cmake-js, the aarch64 cross build) build the same sources: every native/*.cc', () => {
  const all = readdirSync(join(ROOT, 'native')).filter((f) => f.endsWith('.cc')).sort();
  const gyp = JSON.parse(readFileSync(join(ROOT, 'binding.gyp'), 'utf8')).targets[0].sources.map((f) => f.replace(/^native\//, '')).sort();
  const cmake = readFileSync(join(ROOT, 'native/CMakeLists.txt'), 'utf8').match(/set\(ORCHID_SOURCES ([^)]*)\)/)[1].trim().split(/\s+/).sort();
  assert.deepEqual(gyp, all);
  assert.deepEqual(cmake, all);
});

test('mpi: the addon reports the JS↔C++ table it was built with; one that differs from codec/abi.ts does not load, naming both views', { skip: process.env.CI ? false : noAddon }, async () => {
  const { abiView } = await import('../dist/codec/abi.js');
  assert.deepEqual(addon.abi(), abiView());
  const env = { ...process.env, ORCHID_MPI_ADDON: join(NATIVE, 'altered-abi.cjs'), ORCHID_REAL_ADDON: loadAddon().path };
  const script = `import { loadAddon } from ${JSON.stringify(join(ROOT, 'dist/transport/mpi/addon.js'))}; const r = loadAddon(); console.log(JSON.stringify({ loaded: !!r.addon, error: r.error }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8', timeout: 30_000 * TIME_SCALE });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  assert.equal(got.loaded, false);
  assert.match(got.error, /altered-abi\.cjs does not match this orchid's JS↔C\+\+ table/);
  assert.match(got.error, /element kind 9: addon float \(4 B, reduced by MPI\), orchid double \(8 B, reduced by MPI\)/);
  assert.match(got.error, /reduction ops in code order: addon \["sum","prod","max","min",.*\], orchid \["sum","prod","min","max",/);
  assert.match(got.error, /npm rebuild orchid-mpi/);
  // and orchidrun --transport mpi refuses to start the job, saying why
  const run = await orchidrun(['-n', '2', '--transport', 'mpi', join(NATIVE, 'hello.mjs')], { env, timeoutMs: 30_000 });
  assert.equal(run.code, 2, run.stderr);
  assert.match(run.stderr, /the mpi transport is not available: the native MPI addon at .* does not match .*reduction ops in code order/);
});

test('mpi: the event loop runs while a receive waits; large typed arrays arrive in an exact-size buffer', { skip: process.env.CI ? false : noAddon }, async () => {
  const r = await orchidrun(['-n', '2', '--transport', 'mpi', join(NATIVE, 'event-loop.mjs')], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim().split('\n').find((l) => l.startsWith('{')));
  assert.ok(got.ticks >= 10, `only ${got.ticks} timer ticks while waiting ~600 ms: the event loop was blocked`);
  assert.equal(got.len, 1 << 20);
  assert.equal(got.byteLength, 8 << 20, 'the received Float64Array is not alone in its buffer');
  assert.equal(got.offset, 0);
  assert.equal(got.first, 3);
  assert.equal(got.last, 3, 'the sender reused its buffer before MPI was done with it');
  assert.deepEqual(got.small, [1, 2, 3]);
  assert.equal(got.smallBuf, 24);
});

test('mpi: received buffers and collective results that are dropped are reclaimed (600 x 4 MiB, 300 x 8 MB, bounded memory)', { skip: process.env.CI ? false : noAddon }, async () => {
  const r = await orchidrun(['-n', '2', '--transport', 'mpi', join(NATIVE, 'reclaim.mjs')], { timeoutMs: 120_000 });
  assert.equal(r.code, 0, r.stderr);
  const got = JSON.parse(r.stdout.trim().split('\n').find((l) => l.startsWith('{')));
  assert.equal(got.sum, 600);
  // 4.8 GB went through: dropped buffers must be freed as they go (by a GC, then node on the event loop)
  assert.ok(got.maxRssMB < 600, `peak RSS ${got.maxRssMB} MB`);
  // collected buffers come back to the addon's pool (how many depends on when V8 collects)
  assert.ok(got.poolHits > 0, `no buffer came back for reuse: ${got.poolHits} hits, ${got.poolMisses} misses`);
});

for (const how of ['exit', 'kill']) {
  test(`mpi: a rank dying inside a collective (${how}) ends the job, no hang`, { skip: process.env.CI ? false : noAddon }, async () => {
    const t0 = Date.now();
    const r = await orchidrun(['-n', '3', '--transport', 'mpi', '--timeout', '60', join(NATIVE, 'die-in-collective.mjs')], { env: { DIE: how }, timeoutMs: 90_000 });
    const secs = (Date.now() - t0) / 1000;
    assert.notEqual(r.code, 0);
    assert.notEqual(r.code, 124, `the job only ended by --timeout: ${r.stderr}`);
    // Hydra reports either the dead rank's code (7) or the SIGKILL it sent the others (9): racy by design
    if (how === 'exit' && flavor === 'mpich') assert.ok([7, 9].includes(r.code), `exit ${r.code}: ${r.stderr}`);
    assert.ok(secs < 30, `took ${secs} s`);
    assert.doesNotMatch(r.stdout, /left allreduce/);
  });
}

test('mpi: --timeout ends a job stuck in MPI with 124', { skip: process.env.CI ? false : noAddon }, async () => {
  const r = await orchidrun(['-n', '2', '--transport', 'mpi', '--timeout', '2', join(NATIVE, 'die-in-collective.mjs')], { env: { DIE: 'never' }, timeoutMs: 60_000 });
  assert.equal(r.code, 124, r.stderr);
  assert.match(r.stderr, /timeout/);
});

test('mpi: SIGKILL of orchidrun leaves no rank and no mpiexec running', { skip: process.env.CI ? false : noAddon }, async () => {
  const run = startOrchidrun(['-n', '2', '--transport', 'mpi', join(NATIVE, 'sleepy.mjs')], { timeoutMs: 60_000 });
  const ups = await run.waitFor(/^up \d+ (\d+)$/gm, 2, 30_000);
  const pids = ups.map((m) => Number(m[1]));
  process.kill(run.child.pid, 'SIGKILL'); // the launcher only, not its process group
  assert.deepEqual(await waitDead(pids, 10_000), [], 'ranks outlived the launcher');
  await run.result;
});

test('mpi: a program that ends without finalize() exits 0', { skip: process.env.CI ? false : noAddon }, async () => {
  const r = await orchidrun(['-n', '2', '--transport', 'mpi', join(NATIVE, 'nofinalize.mjs')], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^r0 2$/m);
  assert.match(r.stdout, /^r1 2$/m);
});

test('mpi: one rank failing before MPI_Init (its addon missing) ends the job instead of leaving the others in MPI_Init', { skip: process.env.CI ? false : noAddon }, async () => {
  const exec = findMpiexec(flavor).path;
  const bad = flavor === 'mpich' ? ['-env', 'ORCHID_MPI_ADDON', '/nonexistent/orchid_mpi.node'] : ['-x', 'ORCHID_MPI_ADDON=/nonexistent/orchid_mpi.node', '--oversubscribe'];
  const good = flavor === 'mpich' ? [] : ['--oversubscribe'];
  const env = { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };
  const hello = join(NATIVE, 'hello.mjs');
  const t0 = Date.now();
  const r = await run(exec, ['-n', '1', ...bad, process.execPath, hello, ':', '-n', '2', ...good, process.execPath, hello], { baseEnv: env, timeoutMs: 60_000 });
  r.out = r.stdout + r.stderr;
  assert.ok(Date.now() - t0 < 30_000, `took ${Date.now() - t0} ms: ${r.out}`);
  assert.notEqual(r.code, 0);
  assert.match(r.out, /the mpi transport is not available/);
});

test('mpi: --tag-output, --env and --wdir are translated for mpiexec', { skip: process.env.CI ? false : noAddon }, async () => {
  const r = await orchidrun(['-n', '2', '--transport', 'mpi', '--tag-output', '--env', 'FOO=bar', '--wdir', NATIVE, 'hello.mjs'], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\[0\] hello 0\/2 transport=mpi$/m);
  assert.match(r.stdout, /^\[1\] hello 1\/2 transport=mpi$/m);
});

test(`mpi: a mismatched launcher (${other}'s mpiexec for a ${flavor} addon) is reported, not N singletons`, { skip: (process.env.CI ? false : noAddon) || (!otherExec && `no ${other} mpiexec installed`) }, async () => {
  const env = { ...envWithoutOrchid(['ORCHID_MPI_ADDON']), OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' };
  const extra = other === 'openmpi' ? ['--oversubscribe'] : [];
  const r = await run(otherExec, ['-n', '2', ...extra, process.execPath, join(NATIVE, 'hello.mjs')], { baseEnv: env, timeoutMs: 60_000 });
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.stdout, /hello 0\/1/, 'the ranks ran as singletons');
  assert.match(r.stderr, /started by .*mpiexec, but the orchid addon is built against/);
});
