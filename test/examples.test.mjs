// The examples of the README, run as a user runs them: through orchidrun with 4 ranks,
// with 1 rank, without the launcher (a world of one), and through the package's bin.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { orchidrun, ROOT, run as runProcess } from './helpers/run.mjs';

const run = (args, opts = {}) => orchidrun(args, { cwd: ROOT, timeoutMs: 60_000, ...opts });

/** Run `file args` (no shell) in the repo; resolves {code, stdout, stderr} even on failure. */
const exec = (file, args, { timeoutMs = 60_000, env } = {}) => runProcess(file, args, { cwd: ROOT, timeoutMs, env });

const ok = (r) => assert.equal(r.code, 0, `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);

function checkHello(stdout, np) {
  for (let i = 0; i < np; i++) assert.match(stdout, new RegExp(`^hello from rank ${i} of ${np} on \\S+ \\(pid \\d+\\)$`, 'm'));
  assert.equal(stdout.match(/^hello from rank/gm)?.length, np, stdout);
  assert.match(stdout, new RegExp(`^${np} ranks? on 1 host\\(s\\)`, 'm'));
}

function piOf(stdout) {
  const m = /^pi ~= (\d\.\d+)\s+error (\S+)$/m.exec(stdout);
  assert.ok(m, `no pi line in:\n${stdout}`);
  return Number(m[1]);
}

test('hello: every rank of 4 says hello', async () => {
  const r = await run(['-n', '4', 'examples/hello.ts']);
  ok(r);
  checkHello(r.stdout, 4);
});

test('ring: the token visits every rank in order and comes back, with timings', async () => {
  const r = await run(['-n', '4', 'examples/ring.ts', '200']);
  ok(r);
  assert.match(r.stdout, /^token visited ranks 0 -> 1 -> 2 -> 3 -> 0$/m);
  assert.match(r.stdout, /^200 laps of 4 hops in [\d.]+ ms: [\d.]+ us per lap, [\d.]+ us per hop$/m);
});

test('pi: 4 ranks agree with Math.PI within 1e-6 and print the time', async () => {
  const r = await run(['-n', '4', 'examples/pi.ts', '2e7']);
  ok(r);
  const pi = piOf(r.stdout);
  assert.ok(Math.abs(pi - Math.PI) < 1e-6, `pi = ${pi}`);
  assert.match(r.stdout, /^N = 20000000 on 4 ranks: [\d.]+ ms/m);
});

test('pi and ring with 1 rank under orchidrun', async () => {
  const p = await run(['-n', '1', 'examples/pi.ts', '1e6']);
  ok(p);
  assert.ok(Math.abs(piOf(p.stdout) - Math.PI) < 1e-6);
  assert.match(p.stdout, /on 1 rank:/);
  const g = await run(['-n', '1', 'examples/ring.ts', '10']);
  ok(g);
  assert.match(g.stdout, /^token visited ranks 0 -> 0$/m);
});

test('examples run without the launcher as a world of one (node --import tsx)', async () => {
  const h = await exec(process.execPath, ['--import', 'tsx', 'examples/hello.ts']);
  ok(h);
  checkHello(h.stdout, 1);
  const p = await exec(process.execPath, ['--import', 'tsx', 'examples/pi.ts', '1e6']);
  ok(p);
  assert.ok(Math.abs(piOf(p.stdout) - Math.PI) < 1e-6);
  assert.match(p.stdout, /on 1 rank:/);
});

test('the package bin runs as an executable (what npx runs)', async () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const bin = join(ROOT, pkg.bin.orchidrun);
  const r = await exec(bin, ['-n', '4', 'examples/hello.ts']);
  ok(r);
  checkHello(r.stdout, 4);
});

test('npx orchidrun -n 4 examples/pi.ts (from the repo, offline)', async (t) => {
  const probe = await exec('npx', ['--version'], { timeoutMs: 20_000 });
  if (probe.code !== 0) {
    assert.ok(!process.env.CI, 'npx comes with npm, which CI has');
    return t.skip('npx is not available');
  }
  // --no: never install anything; --offline: never ask the registry (the bin is this package's own).
  // In its own checkout npx links the package into its cache and would run the package's install
  // script there, i.e. rebuild build/Release of this checkout: a run killed midway (the bound
  // below) leaves no addon and a broken cache entry. So: scripts off, a cache of this test's own.
  const cache = mkdtempSync(join(tmpdir(), 'orchid-npx-'));
  t.after(() => rmSync(cache, { recursive: true, force: true }));
  const env = { npm_config_cache: cache, npm_config_ignore_scripts: 'true' };
  const addon = join(ROOT, 'build/Release/orchid_mpi.node');
  const before = existsSync(addon) ? statSync(addon).mtimeMs : undefined;
  const r = await exec('npx', ['--no', '--offline', '--', 'orchidrun', '-n', '4', 'examples/pi.ts', '1e7'], { env });
  ok(r);
  assert.equal(existsSync(addon) ? statSync(addon).mtimeMs : undefined, before, 'npx rebuilt (or removed) the addon of this checkout');
  assert.ok(Math.abs(piOf(r.stdout) - Math.PI) < 1e-6);
});

test('primes-pool: the task pool counts the primes below 1e6 with 4 ranks, with 1, and without the launcher', async () => {
  for (const r of [
    await run(['-n', '4', 'examples/primes-pool.ts', '1e6', '20000']),
    await run(['-n', '1', 'examples/primes-pool.ts', '1e6', '20000']),
    await exec(process.execPath, ['--import', 'tsx', 'examples/primes-pool.ts', '1e6', '20000']),
  ]) {
    ok(r);
    assert.match(r.stdout, /^primes below 1000000: 78498$/m);
    assert.match(r.stdout, /^50 blocks on [13] workers? in [\d.]+ ms; blocks per host: \S+ 50$/m);
  }
});

test('stencil-cart: the same plate on 1, 4 (2 x 2) and 6 (3 x 2) ranks, and without the launcher', async () => {
  const answer = (r, grid, np) => {
    ok(r);
    assert.match(r.stdout, new RegExp(`^plate 40 x 40 on a ${grid} grid of ${np} ranks?, 300 sweeps in [\\d.]+ ms$`, 'm'));
    const m = /^mean temperature (\d+\.\d+), centre (\d+\.\d+), last change (\S+)$/m.exec(r.stdout);
    assert.ok(m, r.stdout);
    return m.slice(1).map(Number);
  };
  const one = answer(await run(['-n', '1', 'examples/stencil-cart.ts', '40', '300']), '1 x 1', 1);
  assert.ok(one[0] > 1 && one[0] < 100 && one[1] > 0.1, `the heat spread in: ${one}`);
  for (const [np, grid] of [[4, '2 x 2'], [6, '3 x 2']]) {
    const got = answer(await run(['-n', String(np), 'examples/stencil-cart.ts', '40', '300']), grid, np);
    // the cells are the same numbers on every decomposition; only the sum's order differs
    assert.equal(got[1], one[1], `centre on ${np} ranks`);
    assert.ok(Math.abs(got[0] - one[0]) < 1e-9 && Math.abs(got[2] - one[2]) < 1e-12, `${got} vs ${one}`);
  }
  const alone = answer(await exec(process.execPath, ['--import', 'tsx', 'examples/stencil-cart.ts', '40', '300']), '1 x 1', 1);
  assert.deepEqual(alone, one);
});
