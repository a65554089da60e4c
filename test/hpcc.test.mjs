// The HPC Challenge reference of `orchid bench` (src/bench/hpcc.ts): finding hpcc, its MPI and
// BLAS, its input file, parsing hpccoutf.txt, real runs here and across two emulated hosts.
// Locally a missing hpcc skips with a message naming the package; in CI (CI=1) it fails.
//
// Fixtures (test/fixtures/hpcc/), real output of Debian's hpcc 1.5.0 (Open MPI 4.1.4, OpenBLAS
// 0.3.21) on a 2-core VM:
//   hpccoutf-2ranks-n400.txt          runHpcc({ ranks: 2, n: 400, nb: 32, p: 1, q: 2 }), whole
//   hpccoutf-hpl-failed-trimmed.txt   the same input with threshold 1e-9 (HPL "FAILED"), trimmed
//                                     to the header, the HPL section and the summary
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { clusterSkip, clusterUp, waitHostsClean } from './helpers/cluster.mjs';
import { ROOT } from './helpers/run.mjs';

const { findHpcc, hpccInput, parseHpccOutput, runHpcc, HPCC_KEYS } = await import(join(ROOT, 'dist/bench/hpcc.js'));

const FIXTURES = join(ROOT, 'test/fixtures/hpcc');
const fixture = (name) => readFileSync(join(FIXTURES, name), 'utf8');

function withEnv(vars, fn) {
  const old = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return fn();
  } finally {
    for (const [k, v] of Object.entries(old)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const found = findHpcc();
/** node:test options for tests that run hpcc: skip locally when it is missing, never in CI. */
const needHpcc = found.hpcc || process.env.CI ? {} : { skip: found.note };
function hpccOrFail() {
  if (!found.hpcc) assert.fail(`${found.note} (CI must not skip the hpcc tests)`);
  return found.hpcc;
}

describe('hpcc: input and output', () => {
  test('hpccInput: HPL.dat lines as hpcc reads them, then the PTRANS lines', () => {
    const lines = hpccInput({ n: 400, nb: 32, p: 1, q: 2 }).split('\n');
    assert.equal(lines.length, 37); // 36 lines and the final newline
    assert.equal(lines.at(-1), '');
    const first = (i) => lines[i - 1].trim().split(/\s+/)[0]; // 1-based line numbers, as in hpcc's README
    assert.deepEqual([5, 6, 7, 8, 9, 10, 11, 12, 13].map(first), ['1', '400', '1', '32', '0', '1', '1', '2', '16.0']);
    assert.match(lines[31], /^#{5} This line \(no\. 32\) is ignored/);
    assert.equal(first(33), '0'); // no additional PTRANS sizes: PTRANS at N/2, from HPL's N
    assert.equal(first(35), '0');
    for (const l of lines) assert.ok(l.length < 82, `hpcc reads 81 characters of a line: ${JSON.stringify(l)}`);
    assert.throws(() => hpccInput({ n: 0, nb: 32, p: 1, q: 2 }), /N must be a positive integer/);
    assert.throws(() => hpccInput({ n: 100, nb: 1.5, p: 1, q: 2 }), /NB must be a positive integer/);
  });

  test('parseHpccOutput: the summary of a real 2-rank run', () => {
    const s = parseHpccOutput(fixture('hpccoutf-2ranks-n400.txt'));
    for (const k of HPCC_KEYS) assert.equal(typeof s[k], 'number', k);
    assert.equal(s.CommWorldProcs, 2);
    assert.equal(s.HPL_N, 400);
    assert.equal(s.HPL_NB, 32);
    assert.equal(s.HPL_nprow, 1);
    assert.equal(s.HPL_npcol, 2);
    assert.ok(s.HPL_Tflops > 0 && s.HPL_time > 0);
    assert.ok(s.StarDGEMM_Gflops > 0 && s.SingleDGEMM_Gflops > 0 && s.StarSTREAM_Triad > 0 && s.SingleSTREAM_Triad > 0);
    assert.ok(s.PTRANS_GBs > 0 && s.MPIRandomAccess_GUPs > 0 && s.StarRandomAccess_GUPs > 0);
    assert.ok(s.RandomlyOrderedRingLatency_usec > 0 && s.NaturallyOrderedRingLatency_usec > 0);
    assert.ok(s.RandomlyOrderedRingBandwidth_GBytes > 0 && s.NaturallyOrderedRingBandwidth_GBytes > 0);
    assert.equal(s.hplPassed, true);
    assert.equal(s.hplResidual, 0.0059226);
    assert.equal(s.hplThreshold, 16);
    assert.equal(s.success, true);
    // the whole map, numbers as numbers, the rest as text
    assert.ok(Object.keys(s.all).length > 100);
    assert.equal(s.all.PTRANS_n, 200);
    assert.equal(s.all.HPL_cpfact, 'R');
    assert.equal(s.all.VersionRelease, 'f');
    assert.equal(s.all.MPIFFT_Procs, 2);
    assert.equal(JSON.parse(JSON.stringify(s.all)).HPL_Tflops, s.HPL_Tflops);
  });

  test('parseHpccOutput: HPL that failed its residual check', () => {
    const s = parseHpccOutput(fixture('hpccoutf-hpl-failed-trimmed.txt'));
    assert.equal(s.hplPassed, false);
    assert.equal(s.success, false);
    assert.equal(s.hplResidual, 0.0059226);
    assert.ok(s.HPL_Tflops > 0); // it ran; its answer did not pass
  });

  test('parseHpccOutput: without the HPL section, the residual comes from the summary norms', () => {
    const text = fixture('hpccoutf-2ranks-n400.txt');
    const cut = text.slice(0, text.indexOf('Begin of HPL section.')) + text.slice(text.indexOf('End of HPL section.'));
    const s = parseHpccOutput(cut);
    assert.equal(s.hplPassed, true);
    assert.ok(Math.abs(s.hplResidual - 0.0059226) < 1e-6, String(s.hplResidual));
  });

  test('parseHpccOutput: a clear error on a truncated or foreign file', () => {
    const text = fixture('hpccoutf-2ranks-n400.txt');
    assert.throws(() => parseHpccOutput(text.slice(0, text.indexOf('Begin of HPL section.') + 200)), {
      message: /no summary section \("Begin of Summary section\." not found\): hpcc did not finish \(the last section it began: HPL, not ended\)/,
    });
    assert.throws(() => parseHpccOutput(text.slice(0, text.indexOf('HPL_N='))), { message: /summary section is incomplete \("End of Summary section\." not found\)/ });
    assert.throws(() => parseHpccOutput(''), { message: /no summary section.*\(the file is empty\)/ });
    const noKeys = text.replace(/^PTRANS_GBs=.*\n/m, '').replace(/^CommWorldProcs=.*\n/m, '');
    assert.throws(() => parseHpccOutput(noKeys), { message: /summary section lacks PTRANS_GBs, CommWorldProcs$/ });
  });
});

describe('hpcc: finding it', () => {
  test('findHpcc: ORCHID_BENCH_HPCC=/nonexistent -> null, and a note naming the package', () => {
    const r = withEnv({ ORCHID_BENCH_HPCC: '/nonexistent' }, () => findHpcc());
    assert.equal(r.hpcc, null);
    assert.match(r.note, /^HPCC reference skipped: hpcc not found \(Debian\/Ubuntu: apt-get install hpcc libopenblas0; Arch: build it from source\)/);
    assert.match(r.note, /ORCHID_BENCH_HPCC=\/nonexistent/);
  });

  test('findHpcc: the binary, its MPI and its BLAS', needHpcc, (t) => {
    const h = hpccOrFail();
    t.diagnostic(`hpcc ${h.binary}; ${h.mpiVersion} (${h.mpiexec}, ${h.mpiLibrary}); BLAS: ${h.blas} (${h.blasPath})`);
    assert.ok(existsSync(h.binary));
    assert.ok(existsSync(h.mpiexec));
    assert.ok(h.flavor === 'openmpi' || h.flavor === 'mpich');
    if (h.mpiLibrary && /libmpi\.so\.40/.test(h.mpiLibrary)) assert.equal(h.flavor, 'openmpi');
    assert.notEqual(h.blasKind, 'unknown', h.blas);
    if (h.blasKind === 'openblas') assert.match(h.blas, /^OpenBLAS \d+\.\d+\.\d+ \((pthread|OpenMP|serial)\)$/);
  });

  test('findHpcc: the reference BLAS is named, with how to select OpenBLAS', needHpcc, (t) => {
    hpccOrFail();
    // ldd honours LD_LIBRARY_PATH: point libblas.so.3 at Debian's reference BLAS for this look only
    const ref = ['x86_64-linux-gnu', 'aarch64-linux-gnu', 'arm-linux-gnueabihf'].map((a) => `/usr/lib/${a}/blas/libblas.so.3`).find((p) => existsSync(p));
    if (!ref) {
      assert.ok(!process.env.CI, 'the reference BLAS is installed in CI by .ci/run (libblas3)');
      return t.skip('no reference BLAS here (Debian/Ubuntu: apt-get install libblas3)');
    }
    const dir = mkdtempSync(join(tmpdir(), 'orchid-hpcc-blas-'));
    try {
      symlinkSync(ref, join(dir, 'libblas.so.3'));
      const r = withEnv({ LD_LIBRARY_PATH: dir }, () => findHpcc());
      assert.equal(r.hpcc.blasKind, 'reference');
      assert.equal(r.hpcc.blas, 'reference BLAS (netlib)');
      assert.match(r.note, /reference BLAS .* slow/);
      assert.match(r.note, /update-alternatives --set libblas\.so\.3-[a-z0-9_]+-linux-gnu[a-z]* \/usr\/lib\/.*\/openblas-pthread\/libblas\.so\.3/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hpcc: runs on this host', () => {
  test('2 ranks, N=400, NB=32, 1 x 2: HPL passes, every value parsed', needHpcc, async (t) => {
    const h = hpccOrFail();
    const dir = mkdtempSync(join(tmpdir(), 'orchid-hpcc-test-'));
    try {
      const r = await runHpcc(h, { ranks: 2, n: 400, nb: 32, p: 1, q: 2, timeoutMs: 120_000, dir }).promise;
      t.diagnostic(`hpcc, 2 ranks, N=400: ${r.seconds.toFixed(2)} s; HPL ${(r.summary?.HPL_Tflops * 1000).toFixed(2)} Gflop/s; ${r.command}`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.error, null);
      assert.equal(r.timedOut, false);
      const s = r.summary;
      assert.equal(s.CommWorldProcs, 2);
      assert.ok(s.HPL_Tflops > 0);
      assert.equal(s.hplPassed, true);
      assert.equal(s.success, true);
      assert.equal(s.HPL_N, 400);
      assert.equal(s.HPL_nprow * s.HPL_npcol, 2);
      assert.equal(r.outFile, join(dir, 'hpccoutf.txt'));
      // one BLAS thread per rank, passed on to the ranks (Hydra passes the whole environment)
      if (h.flavor === 'openmpi') assert.match(r.command, /-x OPENBLAS_NUM_THREADS=1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a hostfile in MPICH's host:slots form is given to the MPI in its own", needHpcc, async () => {
    const h = hpccOrFail();
    const dir = mkdtempSync(join(tmpdir(), 'orchid-hpcc-test-'));
    try {
      const hostfile = join(dir, 'hosts.mpich');
      writeFileSync(hostfile, '# one host\nlocalhost:2\n');
      const r = await runHpcc(h, { ranks: 2, n: 200, nb: 32, p: 1, q: 2, hostfile, timeoutMs: 120_000, dir: join(dir, 'run') }).promise;
      assert.equal(r.error, null, r.stderr);
      assert.equal(r.summary.CommWorldProcs, 2);
      const written = readFileSync(join(dir, 'run', 'hostfile'), 'utf8');
      assert.equal(written, h.flavor === 'mpich' ? 'localhost:2\n' : 'localhost slots=2\n');
      assert.match(r.command, h.flavor === 'mpich' ? / -f \S+\/hostfile / : / --hostfile \S+\/hostfile /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a grid larger than the ranks is refused (HPL would stop and hpcc hang)', needHpcc, () => {
    const h = hpccOrFail();
    assert.throws(() => runHpcc(h, { ranks: 2, n: 400, nb: 32, p: 2, q: 2, timeoutMs: 10_000, dir: join(tmpdir(), 'unused') }), /a 2 x 2 grid needs 4 ranks, got 2/);
  });

  test('killed on timeout: no summary, and it says why', needHpcc, async () => {
    const h = hpccOrFail();
    const dir = mkdtempSync(join(tmpdir(), 'orchid-hpcc-test-'));
    try {
      const t0 = Date.now();
      const r = await runHpcc(h, { ranks: 2, n: 6000, nb: 64, p: 1, q: 2, timeoutMs: 1500, dir }).promise;
      assert.ok(Date.now() - t0 < 10_000, `took ${Date.now() - t0} ms`);
      assert.equal(r.timedOut, true);
      assert.equal(r.summary, null);
      assert.match(r.error, /killed after 1500 ms/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ssh to a host of the emulated cluster with the command run in a private mount namespace of
// that host, where PRIV is an empty tmpfs: a host that does not share this file system (the
// hosts of cluster.sh share it: they are network namespaces of this machine).
function privateFsSsh(file, sshConfig, priv, pids) {
  const script = `#!/bin/bash
opts=(); host=
while [ $# -gt 0 ]; do
  case "$1" in
    --) shift; break ;;
    -o|-F|-i|-l|-p) opts+=("$1" "$2"); shift 2 ;;
    -*) opts+=("$1"); shift ;;
    *) host=$1; shift; break ;;
  esac
done
[ -z "$host" ] && { host=$1; shift; }
[ "\${1:-}" = -- ] && shift
case "$host" in ${Object.keys(pids).map((h) => `${h}) pid=${pids[h]} ;;`).join(' ')} *) echo "no private namespace for $host" >&2; exit 255 ;; esac
q=$(printf %s "$*" | sed "s/'/'\\\\\\\\''/g")
exec ssh -F '${sshConfig}' "\${opts[@]}" "$host" -- "nsenter --mount=/proc/$pid/ns/mnt -- sh -c '$q'"
`;
  writeFileSync(file, script, { mode: 0o755 });
  return file;
}

describe('hpcc: on 2 emulated hosts', { ...clusterSkip(), ...needHpcc }, () => {
  let c;
  let dir;
  before(() => {
    c = clusterUp(2);
    dir = mkdtempSync(join(tmpdir(), 'orchid-hpcc-test-'));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    c?.down();
  });

  test('4 ranks over ssh, on the cluster network: HPL passes, rank 0 on node1; a timeout leaves nothing behind', async (t) => {
    const h = hpccOrFail();
    const [n1, n2] = c.hosts.map((x) => x.name);
    // the 4 ranks share this machine's cores: they must yield while they wait (see yieldWhenIdle)
    const opts = { ranks: 4, n: 400, nb: 32, p: 2, q: 2, hosts: `${n1}:2,${n2}:2`, ssh: c.ssh, iface: c.head, yieldWhenIdle: true, timeoutMs: 180_000, dir: join(dir, 'run4') };
    const r = await runHpcc(h, opts).promise;
    const s = r.summary;
    t.diagnostic(
      `hpcc, 4 ranks on ${n1},${n2}, N=400: ${r.seconds.toFixed(2)} s; ring latency ${s?.RandomlyOrderedRingLatency_usec} us, ` +
        `ring bandwidth ${s?.NaturallyOrderedRingBandwidth_GBytes} GB/s; ${r.command}`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.error, null, r.stderr);
    assert.equal(s.CommWorldProcs, 4);
    assert.equal(s.hplPassed, true);
    assert.equal(s.success, true);
    assert.equal(s.HPL_nprow, 2);
    assert.equal(s.HPL_npcol, 2);
    assert.match(readFileSync(r.outFile, 'utf8'), new RegExp(`^Hostname: '${n1}'$`, 'm')); // rank 0 ran there
    // the head's address, as the network every host has (Open MPI) / the interface of it (Hydra)
    assert.match(r.command, h.flavor === 'mpich' ? / -iface \S+ / : /btl_tcp_if_include 10\.77\.0\.0\/24 .*oob_tcp_if_include 10\.77\.0\.0\/24/);
    // ranks across the 1 Gbit links: far below this host's shared memory (MPICH's UCX takes hosts
    // with this machine's boot id for one machine and uses shared memory between them)
    if (h.flavor === 'openmpi') assert.ok(s.NaturallyOrderedRingBandwidth_GBytes < 0.2, String(s.NaturallyOrderedRingBandwidth_GBytes));

    // killed mid-run: mpiexec, the remote daemons and the ranks all go
    const k = await runHpcc(h, { ...opts, n: 3000, timeoutMs: 3000, dir: join(dir, 'killed') }).promise;
    assert.equal(k.timedOut, true);
    assert.equal(k.summary, null);
    assert.deepEqual(await waitHostsClean(c, 10_000), []);
  });

  test("rank 0's host unreachable: hpcc is not started, and the error says where", async () => {
    const h = hpccOrFail();
    const t0 = Date.now();
    const r = await runHpcc(h, { ranks: 2, n: 400, nb: 32, p: 1, q: 2, hosts: 'unreachable:1,node1:1', ssh: c.ssh, timeoutMs: 60_000, dir: join(dir, 'unreachable') }).promise;
    assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
    assert.equal(r.summary, null);
    assert.equal(r.code, null);
    assert.match(r.error, /^hpcc not started: could not put hpccinf\.txt on unreachable: .*\(rank 0 reads it there\)$/);
  });

  test('hosts without this file system: the input goes to rank 0, the output comes back, nothing is left there', async (t) => {
    const h = hpccOrFail();
    const priv = mkdtempSync(join(tmpdir(), 'orchid-hpcc-private-'));
    const sleepers = c.hosts.map((x) =>
      spawn('ip', ['netns', 'exec', x.ns, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c', `mount -t tmpfs tmpfs '${priv}' && exec sleep 600`], { stdio: 'ignore' }),
    );
    try {
      // each becomes `sleep` in its own mount namespace once the tmpfs is mounted
      for (const p of sleepers) {
        for (let i = 0; i < 100 && readFileSync(`/proc/${p.pid}/comm`, 'utf8').trim() !== 'sleep'; i++) await new Promise((r) => setTimeout(r, 50));
      }
      const ssh = privateFsSsh(join(priv, 'private-ssh'), c.sshConfig, priv, Object.fromEntries(c.hosts.map((x, i) => [x.name, sleepers[i].pid])));
      const onNode1 = (cmd) => execFileSync(ssh, ['node1', cmd], { encoding: 'utf8' }).trim();
      assert.equal(onNode1(`test -e '${ssh}' && echo shared || echo private`), 'private');
      const run = join(priv, 'run');
      const r = await runHpcc(h, { ranks: 2, n: 400, nb: 32, p: 1, q: 2, hosts: 'node1:1,node2:1', ssh, iface: c.head, yieldWhenIdle: true, timeoutMs: 120_000, dir: run }).promise;
      t.diagnostic(`hpcc, 2 ranks on node1,node2 without a shared file system: ${r.seconds.toFixed(2)} s`);
      assert.equal(r.error, null, r.stderr);
      assert.equal(r.summary.CommWorldProcs, 2);
      assert.equal(r.summary.hplPassed, true);
      assert.equal(r.outFile, join(run, 'hpccoutf.txt'));
      assert.match(readFileSync(r.outFile, 'utf8'), /^Hostname: 'node1'$/m); // written there, fetched here
      assert.equal(onNode1(`ls -A '${priv}'`), ''); // what was created there is gone
    } finally {
      for (const p of sleepers) p.kill('SIGKILL');
      // the tmpfs goes with its namespace; this directory stays empty
      await new Promise((r) => setTimeout(r, 100));
      rmSync(priv, { recursive: true, force: true });
    }
  });
});
