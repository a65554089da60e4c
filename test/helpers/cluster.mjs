// The emulated cluster (test/cluster/cluster.sh) for tests: bring it up, list what runs
// on each host, bring it down. Locally a missing prerequisite skips with a message naming
// what to install; in CI (CI=1) it is a failure.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './run.mjs';

export const CLUSTER_SH = join(ROOT, 'test/cluster/cluster.sh');
const NAME = process.env.ORCHID_CLUSTER_NAME ?? 'oc';

/** Why the cluster cannot run here, or undefined when it can. */
export function clusterUnavailable() {
  if (process.platform !== 'linux') return 'the emulated cluster needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'the emulated cluster needs root';
  const missing = [];
  if (!existsSync('/usr/sbin/sshd')) missing.push('openssh-server');
  if (spawnSync('ssh', ['-V']).error) missing.push('openssh-client');
  if (spawnSync('ip', ['-V']).error || spawnSync('tc', ['-V']).error) missing.push('iproute2');
  if (spawnSync('unshare', ['--version']).error) missing.push('util-linux');
  if (missing.length) return `the emulated cluster needs: apt-get install ${missing.join(' ')}`;
  return undefined;
}

/**
 * Options for node:test's test()/describe(): `{ skip: reason }` when the cluster cannot run
 * here (never in CI, where a missing prerequisite must fail loudly).
 */
export function clusterSkip() {
  const why = clusterUnavailable();
  if (!why) return {};
  if (process.env.CI) throw new Error(`${why} (CI must not skip the cluster tests)`);
  return { skip: why };
}

// One emulated cluster (fixed subnet, names, Slurm ports) per machine: test runs from
// several checkouts at once take turns through a lock directory owned by a live pid.
const LOCK = `/tmp/orchid-cluster-${NAME}.lock`;
let held = 0;
function isLive(pid) {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
function lock(timeoutMs = 15 * 60_000) {
  if (held++ > 0) return;
  const end = Date.now() + timeoutMs;
  const nap = new Int32Array(new SharedArrayBuffer(4));
  let told = false;
  for (;;) {
    try {
      mkdirSync(LOCK);
      writeFileSync(join(LOCK, 'pid'), String(process.pid));
      process.once('exit', unlockNow);
      return;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    let owner = NaN;
    try {
      owner = Number(readFileSync(join(LOCK, 'pid'), 'utf8'));
    } catch {}
    if (Number.isInteger(owner) && !isLive(owner)) rmSync(LOCK, { recursive: true, force: true });
    else if (Date.now() > end) throw new Error(`the emulated cluster is busy (${LOCK} held by pid ${owner})`);
    else {
      if (!told) process.stderr.write(`# waiting for the emulated cluster (in use by pid ${owner})\n`);
      told = true;
      Atomics.wait(nap, 0, 0, 250);
    }
  }
}
function unlockNow() {
  try {
    if (Number(readFileSync(join(LOCK, 'pid'), 'utf8')) === process.pid) rmSync(LOCK, { recursive: true, force: true });
  } catch {}
}
function unlock() {
  if (held > 0 && --held === 0) unlockNow();
}

/** The line rate cluster.sh shapes every link to (tc tbf, burst 256kb), as it reads it. */
export const CLUSTER_RATE = process.env.ORCHID_CLUSTER_RATE || '1gbit';

/** Reshape host's link, both ends of its veth pair, as cluster.sh does (default: back to its rate). */
export function setLinkRate(host, rate = CLUSTER_RATE, burst = '256kb') {
  const ends = [[[], host.veth], [['-n', host.ns], 'eth0']]; // the head's side, the host's side
  for (const [where, dev] of ends) execFileSync('tc', [...where, 'qdisc', 'change', 'dev', dev, 'root', 'tbf', 'rate', rate, 'burst', burst, 'latency', '20ms']);
}

/**
 * Bring up `n` hosts (node1..nodeN). Returns { dir, sshConfig, ssh, hosts: [{ name, addr, ns }],
 * head, pids(i), down() }. `ssh` is the --ssh command line for orchidrun.
 */
export function clusterUp(n = 4) {
  lock();
  let dir;
  try {
    dir = execFileSync(CLUSTER_SH, ['up', String(n)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop();
  } catch (e) {
    unlock();
    throw e;
  }
  const hosts = readFileSync(join(dir, 'hosts'), 'utf8')
    .trim()
    .split('\n')
    .map((line, i) => {
      const [name, addr] = line.split(' ');
      return { name, addr, ns: `${NAME}-n${i + 1}`, veth: `${NAME}-v${i + 1}` };
    });
  const sshConfig = join(dir, 'ssh_config');
  return {
    dir,
    sshConfig,
    ssh: `ssh -F ${sshConfig}`,
    hostfile: join(dir, 'hostfile'),
    head: '10.77.0.1',
    hosts,
    /** Processes in host i's namespace (1-based): [{ pid, comm, args }]. */
    procs: (i) => clusterProcs(hosts[i - 1].ns),
    down: clusterDown,
  };
}

export function clusterDown() {
  try {
    execFileSync(CLUSTER_SH, ['down'], { stdio: ['ignore', 'ignore', 'inherit'] });
  } finally {
    unlock();
  }
}

/** Every process in a namespace, except those that have become zombies. */
export function clusterProcs(ns) {
  const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
  const out = [];
  for (const p of (r.stdout ?? '').split('\n').filter(Boolean)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
      const args = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      out.push({ pid: Number(p), comm: readFileSync(`/proc/${p}/comm`, 'utf8').trim(), args });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * Poll until no host runs anything but sshd (the listener and sessions still closing).
 * Returns what is left after `ms` as "nsname: pid args" strings (empty when clean).
 */
export async function waitHostsClean(cluster, ms = 10_000, keep = ['sshd']) {
  const end = Date.now() + ms;
  for (;;) {
    const left = [];
    for (const h of cluster.hosts) for (const p of clusterProcs(h.ns)) if (!keep.includes(p.comm)) left.push(`${h.name}: ${p.pid} ${p.args}`);
    if (left.length === 0 || Date.now() > end) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- a one-node Slurm on loopback (test/cluster/slurm.sh) ----

export const SLURM_SH = join(ROOT, 'test/cluster/slurm.sh');

export function slurmUnavailable() {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'the Slurm tests need root on Linux';
  const missing = ['/usr/sbin/slurmctld', '/usr/sbin/slurmd', '/usr/sbin/munged'].filter((p) => !existsSync(p));
  if (missing.length || spawnSync('salloc', ['--version']).error) return 'the Slurm tests need: apt-get install slurm-wlm munge';
  return undefined;
}

/** node:test options: skip locally when Slurm is missing, fail in CI. */
export function slurmSkip() {
  const why = slurmUnavailable();
  if (!why) return {};
  if (process.env.CI) throw new Error(`${why} (CI must not skip the Slurm tests)`);
  return { skip: why };
}

/**
 * Start slurmctld+slurmd+munged; returns { dir, env (SLURM_CONF), down() }. With
 * `onCluster`, over the emulated cluster (up already): one slurmd per host namespace.
 */
export function slurmUp(onCluster = false) {
  lock();
  let dir;
  try {
    dir = execFileSync(SLURM_SH, [onCluster ? 'up-cluster' : 'up'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop();
  } catch (e) {
    unlock();
    throw e;
  }
  return { dir, env: { SLURM_CONF: join(dir, 'slurm.conf') }, down: slurmDown };
}

export function slurmDown() {
  try {
    execFileSync(SLURM_SH, ['down'], { stdio: ['ignore', 'ignore', 'inherit'] });
  } finally {
    unlock();
  }
}
