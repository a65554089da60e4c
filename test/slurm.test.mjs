// The slurm bootstrap on a real (one-node) Slurm: slurmctld, slurmd and munged started by
// test/cluster/slurm.sh on loopback. Inside `salloc`, orchidrun takes its hosts and slots
// from the allocation and starts each host's proxy as a job step with srun.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { clusterSkip, clusterUp, slurmSkip, slurmUp, waitHostsClean } from './helpers/cluster.mjs';
import { ORCHIDRUN, RANK, ROOT, startOrchidrun, waitDead } from './helpers/run.mjs';

const JOB = join(ROOT, 'test/programs/cluster/job.mjs');
const ALLREDUCE = join(ROOT, 'test/programs/slurm/allreduce.mjs');
const { loadAddon } = await import('../dist/transport/mpi/addon.js');
const { addon, error: addonError } = loadAddon();
// srun itself as the process manager: MPICH's PMI-1 client joins Slurm's mpi/pmi2 plugin
const noMpichAddon = !addon ? `the mpi transport is not built: ${addonError}` : addon.flavor !== 'mpich' && `the addon is built against ${addon.flavor}, this test needs MPICH`;
let s;
/** `srun ARGS…` run to completion (it needs no allocation: srun makes one). */
const srun = (args) => spawnSync('srun', args, { env: { ...process.env, ...s.env }, cwd: ROOT, encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL' });
/** `salloc ARGS… node orchidrun.js RUNARGS…` as one process group. */
const salloc = (sallocArgs, runArgs, opts = {}) =>
  startOrchidrun(['--quiet', ...sallocArgs, process.execPath, ORCHIDRUN, ...runArgs], { bin: join(ROOT, 'test/programs/cluster/salloc.mjs'), env: s.env, cwd: ROOT, timeoutMs: 60_000, ...opts });
const parentComm = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  return readFileSync(`/proc/${ppid}/comm`, 'utf8').trim();
};

describe('slurm bootstrap on a one-node Slurm', slurmSkip(), () => {
  before(() => {
    s = slurmUp();
  });
  after(() => s?.down());

  test('inside salloc -n 3: hosts and ranks from the allocation, the proxy is a job step', async () => {
    const run = salloc(['-n', '3'], [JOB, 'wait']);
    const found = (await run.waitFor(/^WAIT (.*)$/gm, 3, 30_000)).map((m) => JSON.parse(m[1]));
    assert.equal(found.length, 3);
    const proxy = found[0].ppid;
    assert.match(readFileSync(`/proc/${proxy}/cmdline`, 'utf8'), /launcher\/proxy\.js/);
    assert.equal(parentComm(proxy), 'slurmstepd', 'the proxy runs under slurmstepd (started by srun)');
    const steps = execFileSync('squeue', ['-h', '-s', '-o', '%j'], { env: { ...process.env, ...s.env }, encoding: 'utf8' });
    assert.match(steps, /orchid-proxy-/);
    process.kill(-run.child.pid, 'SIGINT'); // Ctrl-C at the terminal reaches salloc and orchidrun
    const r = await run.result;
    assert.equal(r.hung, false);
    assert.deepEqual(await waitDead([proxy, ...found.map((f) => f.pid)], 10_000), [], 'proxy and ranks are gone');
  });

  test('--bootstrap slurm: a job of 2 runs to completion; a failing rank ends it with its code', async () => {
    const ok = await salloc(['-n', '2'], ['--bootstrap', 'slurm', RANK, 'hello']).result;
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(ok.stdout.trim().split('\n').sort(), ['rank 0 of 2', 'rank 1 of 2']);
    const bad = await salloc(['-n', '3'], [RANK, 'exit', '1', '7']).result;
    assert.equal(bad.code, 7, bad.stderr);
    assert.match(bad.stderr, /orchidrun: rank 1 on host \S+ exited with code 7/);
    // the allocation completes (CG) and leaves the queue
    let left;
    for (let i = 0; i < 100; i++) {
      left = execFileSync('squeue', ['-h'], { env: { ...process.env, ...s.env }, encoding: 'utf8' }).trim();
      if (left === '') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(left, '', 'no job left in the queue');
  });

  test('srun --mpi=pmi2 -n 3 without orchidrun: the tasks join one MPI world of 3 and allreduce', { skip: process.env.CI ? false : noMpichAddon }, () => {
    const r = srun(['--mpi=pmi2', '-n', '3', process.execPath, ALLREDUCE]);
    assert.equal(r.status, 0, `${r.error ?? ''}${r.stderr}`);
    const out = JSON.parse(/^ALLREDUCE (.*)$/m.exec(r.stdout)[1]);
    assert.equal(out.sum, 1 + 2 + 3);
    assert.deepEqual(out.all, [0, 1, 2].map((i) => ({ rank: i, size: 3, procid: i, libmpi: true })), 'rank = SLURM_PROCID, size = SLURM_NTASKS, over libmpi');
  });

  test('srun --mpi=none -n 2 without orchidrun: init fails naming srun --mpi=pmi2 and orchidrun', () => {
    const r = srun(['--mpi=none', '-n', '2', process.execPath, ALLREDUCE]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /ERR_TRANSPORT/);
    assert.match(r.stderr, /started by srun as one of 2 ranks without orchidrun.*srun --mpi=pmi2.*orchidrun/);
  });
});

test('Slurm host lists and task counts expand like scontrol show hostnames', async () => {
  const { expandNodeList, expandTasksPerNode, slurmHosts } = await import('../dist/launcher/slurm.js');
  assert.deepEqual(expandNodeList('vim[1-3,07],head'), ['vim1', 'vim2', 'vim3', 'vim07', 'head']);
  assert.deepEqual(expandNodeList('n[08-10]'), ['n08', 'n09', 'n10']);
  assert.deepEqual(expandNodeList('solo'), ['solo']);
  assert.deepEqual(expandTasksPerNode('2(x3),1'), [2, 2, 2, 1]);
  assert.deepEqual(slurmHosts({ SLURM_JOB_ID: '5', SLURM_JOB_NODELIST: 'vim[1-2]', SLURM_TASKS_PER_NODE: '6(x2)' }), [
    { name: 'vim1', slots: 6 },
    { name: 'vim2', slots: 6 },
  ]);
  assert.throws(() => slurmHosts({}), /not inside a Slurm allocation/);
});

describe('slurm bootstrap across 3 emulated hosts (one slurmd per host namespace)', { ...clusterSkip(), ...slurmSkip() }, () => {
  let c;
  before(() => {
    c = clusterUp(3);
    s = slurmUp(true);
  });
  after(() => {
    s?.down();
    c?.down();
  });

  test('salloc -N 3 --ntasks-per-node=2: each host runs its 2 ranks under a job step, bound to its address', async () => {
    const run = salloc(['-N', '3', '--ntasks-per-node=2'], [JOB, 'where']);
    const r = await run.result;
    assert.equal(r.code, 0, r.stderr);
    const all = JSON.parse(/^WHERE (.*)$/m.exec(r.stdout)[1]);
    const expect = ['node1', 'node1', 'node2', 'node2', 'node3', 'node3'];
    assert.deepEqual(all.map((x) => x.host), expect);
    assert.deepEqual(all.map((x) => x.addr), expect.map((n) => c.hosts.find((h) => h.name === n).addr));
    assert.deepEqual(await waitHostsClean(c, 10_000, ['sshd', 'slurmd']), []);
  });

  test('kill -9 of a rank on node3: the job ends naming it, nothing left on any host', async () => {
    const run = salloc(['-N', '3', '-n', '3'], [JOB, 'wait']);
    const found = (await run.waitFor(/^WAIT (.*)$/gm, 3, 30_000)).map((m) => JSON.parse(m[1]));
    const victim = found.find((f) => f.host === 'node3');
    process.kill(victim.pid, 'SIGKILL');
    const r = await run.result;
    assert.equal(r.hung, false);
    assert.equal(r.code, 137, r.stderr);
    assert.match(r.stderr, new RegExp(`orchidrun: rank ${victim.rank} on host node3 was killed by signal SIGKILL`));
    assert.deepEqual(await waitHostsClean(c, 15_000, ['sshd', 'slurmd']), []);
  });
});
