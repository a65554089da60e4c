// The conformance suite: test/conformance/checks.mjs run as real multi-process jobs, once
// per transport and launch mode. Every check becomes a subtest that passes when every
// rank reported it ok. New transports and launch modes add rows here, not test copies.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { checks } from './conformance/checks.mjs';
import { envWithoutOrchid, ROOT, orchidrun, run } from './helpers/run.mjs';
import { clusterSkip, clusterUp, slurmSkip, slurmUp } from './helpers/cluster.mjs';

const PROGRAM = join(ROOT, 'test/conformance/program.mjs');
const transports = (process.env.ORCHID_TEST_TRANSPORTS ?? 'ws').split(',').filter(Boolean);
// ORCHID_TEST_MODES (a regex on "TRANSPORT MODE NAME") runs some launch modes only: the
// aarch64 lane (test/aarch64/lane.mjs) picks the ones worth their time under emulation.
const pick = process.env.ORCHID_TEST_MODES ? new RegExp(process.env.ORCHID_TEST_MODES) : undefined;
// An arm64 node and an orchid installed by it (set by the aarch64 lane): the mixed-architecture
// modes run half the ranks there, as an x86 head node with arm64 boards does.
const ARM64_NODE = process.env.ORCHID_ARM64_NODE;
const ARM64_ROOT = process.env.ORCHID_ARM64_ROOT;

/** Launch modes: how the job is started. `run` returns {code, stdout, stderr}. */
const modes = [
  { name: 'orchidrun -n 4', np: 4, run: (t) => orchidrun(['-n', '4', '--transport', t, PROGRAM], { timeoutMs: 180_000 }) },
  { name: 'orchidrun -n 3', np: 3, run: (t) => orchidrun(['-n', '3', '--transport', t, PROGRAM], { timeoutMs: 180_000 }) },
  {
    name: 'orchidrun -n 4, TCP between local ranks',
    np: 4,
    only: 'ws',
    run: (t) => orchidrun(['-n', '4', '--transport', t, PROGRAM], { timeoutMs: 180_000, env: { ORCHID_WS_UNIX: '0' } }),
  },
  { name: 'singleton (no launcher)', np: 1, only: 'ws', run: () => plainNode(PROGRAM) },
  { name: 'plain mpiexec -n 4 node (no orchidrun)', np: 4, only: 'mpi', run: () => plainMpiexec(4, PROGRAM) },
  {
    // MPMD: ranks 0-1 this node and this checkout, ranks 2-3 the arm64 node (qemu-user) and its own install
    name: 'orchidrun MPMD, 2 ranks on this node + 2 on arm64 (mixed architectures)',
    np: 4,
    arch: [process.arch, process.arch, 'arm64', 'arm64'],
    run: (t) =>
      orchidrun(['--transport', t, '-n', '2', PROGRAM, ':', '-n', '2', ARM64_NODE, join(ARM64_ROOT, 'test/conformance/program.mjs')], { timeoutMs: 300_000 }),
  },
  {
    // test/cluster/cluster.sh: 4 network namespaces with their own sshd and hostname, 1 Gbit/s links
    name: 'orchidrun over ssh on 4 emulated hosts (node1:2,node2:2,node3,node4)',
    np: 6,
    only: 'ws',
    cluster: true,
    run: async (t) => {
      const c = clusterUp(4);
      try {
        return await orchidrun(['--ssh', c.ssh, '--hosts', 'node1:2,node2:2,node3,node4', '--transport', t, PROGRAM], { timeoutMs: 180_000 });
      } finally {
        c.down();
      }
    },
  },
  {
    // test/cluster/slurm.sh: a one-node Slurm; orchidrun inside salloc starts its proxy with srun
    name: 'orchidrun inside salloc -n 4 (slurm bootstrap)',
    np: 4,
    only: 'ws',
    skip: slurmSkip,
    run: async (t) => {
      const sl = slurmUp();
      try {
        return await orchidrun(['--quiet', '-n', '4', process.execPath, join(ROOT, 'dist/cli/orchidrun.js'), '--transport', t, PROGRAM], {
          bin: join(ROOT, 'test/programs/cluster/salloc.mjs'),
          env: sl.env,
          timeoutMs: 180_000,
        });
      } finally {
        sl.down();
      }
    },
  },
];

/** `mpiexec -n N node script` with the mpiexec matching the addon's MPI, no orchidrun involved. */
async function plainMpiexec(np, script) {
  const { loadAddon } = await import('../dist/transport/mpi/addon.js');
  const { findMpiexec } = await import('../dist/launcher/mpiexec.js');
  const { addon, error } = loadAddon();
  if (!addon) return { code: -1, stdout: '', stderr: `no addon: ${error}` };
  const { path } = findMpiexec(addon.flavor);
  if (!path) return { code: -1, stdout: '', stderr: `no ${addon.flavor} mpiexec` };
  const extra = addon.flavor === 'openmpi' ? ['--oversubscribe', '--allow-run-as-root'] : [];
  return run(path, ['-n', String(np), ...extra, process.execPath, script], { baseEnv: envWithoutOrchid(['ORCHID_MPI_ADDON']), timeoutMs: 180_000 });
}

function plainNode(script) {
  return run(process.execPath, [script], { baseEnv: envWithoutOrchid(), timeoutMs: 120_000 });
}

for (const transport of transports) {
  for (const mode of modes) {
    if (mode.only && mode.only !== transport) continue;
    if (pick && !pick.test(`${transport} ${mode.name}`)) continue;
    if (mode.arch && !(ARM64_NODE && ARM64_ROOT)) continue; // only where an arm64 node is given: npm run test:aarch64
    test(`conformance [${transport}] ${mode.name}`, mode.cluster ? clusterSkip() : mode.skip ? mode.skip() : {}, async (t) => {
      const res = await mode.run(transport);
      const lines = res.stdout.split('\n');
      const report = new Map(); // check name -> [rank, ok, detail][]
      for (const line of lines) {
        const m = /^CHECK (\d+) (ok|FAIL) (.*)$/.exec(line);
        if (!m) continue;
        const [, rank, status, rest] = m;
        const name = checks.map(([n]) => n).find((n) => rest === n || rest.startsWith(`${n} `));
        if (!report.has(name)) report.set(name, []);
        report.get(name).push([Number(rank), status === 'ok', rest.slice(name.length + 1)]);
      }
      for (const [name] of checks) {
        await t.test(name, () => {
          const got = report.get(name) ?? [];
          const failed = got.filter(([, ok]) => !ok);
          assert.deepEqual(failed, [], failed.map(([r, , d]) => `rank ${r}: ${JSON.parse(d || '""')}`).join('\n'));
          assert.equal(got.length, mode.np, `${got.length} of ${mode.np} ranks reported; job exit ${res.code}; stderr: ${res.stderr.slice(-2000)}`);
        });
      }
      if (mode.arch)
        await t.test('each rank runs on the architecture its section names', () => {
          const got = mode.arch.map((_, r) => new RegExp(`^ARCH ${r} (\\S+)$`, 'm').exec(res.stdout)?.[1]);
          assert.deepEqual(got, mode.arch, res.stderr.slice(-2000));
        });
      await t.test('job ends cleanly', () => {
        assert.equal(res.code, 0, res.stderr.slice(-2000));
        for (let r = 0; r < mode.np; r++) assert.match(res.stdout, new RegExp(`^DONE ${r}$`, 'm'));
      });
    });
  }
}
