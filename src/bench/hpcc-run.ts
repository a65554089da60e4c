// Running hpcc: mpiexec -n RANKS hpcc in a directory of this host, in the syntax of hpcc's own
// MPI (Open MPI or MPICH's Hydra), on the bench's hosts, killed after a timeout.
//
// hpcc has no command line: rank 0 reads hpccinf.txt from its working directory and appends
// to hpccoutf.txt there. mpiexec runs in `dir`; when rank 0 lands on a remote host (the first
// host of the list) that does not share this file system, the input is copied there over ssh
// first (to the same path: Open MPI and Hydra start remote ranks in mpiexec's directory when it
// exists there), the output is fetched back afterwards and what was created there is removed.
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { shellQuote, splitCommand, sshArgs } from '../launcher/ssh.js';
import { hpccInput, parseHpccOutput, positiveInt, type HpccSummary } from './hpcc-files.js';
import type { Hpcc } from './hpcc.js';
import { mpiexecPlacement } from './mpi-placement.js';

export interface HpccRunOptions {
  ranks: number;
  n: number;
  nb: number;
  p: number;
  q: number;
  /** "a,b:2,c" (host or host:slots) */
  hosts?: string;
  /** MPICH `host:slots` or Open MPI `host slots=N` lines */
  hostfile?: string;
  /** ssh command line for the remote hosts, e.g. "ssh -F /tmp/orchid-cluster-oc/ssh_config" */
  ssh?: string;
  /** the network the ranks talk over: an interface name of this host, an address of it, or a CIDR */
  iface?: string;
  timeoutMs: number;
  /** a fresh directory of this host (hpccinf.txt and hpccoutf.txt go there) */
  dir: string;
  /** BLAS threads per rank (default 1: one rank per core, as HPL is meant to be run) */
  blasThreads?: number;
  /**
   * Open MPI: ranks give up the CPU while they wait (mpi_yield_when_idle). For ranks that share
   * cores (more ranks than cores, an emulated cluster on one machine): otherwise a waiting rank
   * spins away the time slice its peer needs and every message costs a scheduler tick (~4 ms).
   * Default: when all ranks run here and outnumber its cores.
   */
  yieldWhenIdle?: boolean;
}

export interface HpccRunResult {
  summary: HpccSummary | null;
  code: number | null;
  /** mpiexec's stderr and stdout (the last 64 KiB), with what staging on remote hosts said */
  stderr: string;
  /** wall time of mpiexec */
  seconds: number;
  timedOut: boolean;
  /** why summary is null */
  error: string | null;
  /** hpccoutf.txt on this host (fetched from rank 0's host when that does not share the file system) */
  outFile: string | null;
  /** the mpiexec command line run (shell-quoted), for the record */
  command: string;
}

export interface HpccRun {
  promise: Promise<HpccRunResult>;
  child: ChildProcess;
}

// On a remote host: nothing to do when it sees our hpccinf.txt (a shared file system), else
// create the directory (printing the topmost directory created, for removal), the input and
// the ssh wrapper (Open MPI's daemons there check that the launch agent exists, even when
// they launch nothing: without it they stop, and a daemonized one says nothing).
const STAGE = `d=$1; tok=$2; agent=$3
if [ -f "$d/hpccinf.txt" ] && grep -qF -- "$tok" "$d/hpccinf.txt"; then cat >/dev/null; echo shared; exit 0; fi
t=$d; top=
while [ ! -e "$t" ]; do top=$t; t=$(dirname "$t"); done
mkdir -p "$d" && rm -f "$d/hpccoutf.txt" && cat >"$d/hpccinf.txt" || exit 1
if [ -n "$agent" ]; then printf '%s' "$agent" >"$d/ssh" && chmod 700 "$d/ssh" || exit 1; fi
echo "created $top"`;

interface Staged {
  host: string;
  /** topmost directory created there ('' when the directory existed) */
  top: string;
}

function tail(s: string, max = 64 * 1024): string {
  return s.length > max ? s.slice(s.length - max) : s;
}

/**
 * mpiexec -n RANKS hpcc in `dir` on the hosts, in the MPI's own syntax; killed (its process
 * group) after timeoutMs. Throws only for impossible arguments.
 */
export function runHpcc(h: Hpcc, o: HpccRunOptions): HpccRun {
  const ranks = positiveInt(o.ranks, 'ranks');
  if (o.p * o.q > ranks) throw new RangeError(`hpcc: a ${o.p} x ${o.q} grid needs ${o.p * o.q} ranks, got ${ranks} (HPL stops with "Need at least ${o.p * o.q} processes" and hpcc hangs)`);
  if (o.hosts !== undefined && o.hostfile !== undefined) throw new Error('hpcc: give either hosts or a hostfile, not both');
  const dir = o.dir;
  mkdirSync(dir, { recursive: true });
  const token = `orchid-hpcc-${randomBytes(8).toString('hex')}`;
  const input = hpccInput({ n: o.n, nb: o.nb, p: o.p, q: o.q, tag: `orchid bench run ${token}` });
  const outFile = join(dir, 'hpccoutf.txt');
  rmSync(outFile, { force: true }); // hpcc appends
  writeFileSync(join(dir, 'hpccinf.txt'), input);

  const ssh = splitCommand(o.ssh ?? 'ssh');
  const place = mpiexecPlacement(h.flavor, o, dir);
  const { hosts, remote, agent, agentPath } = place;
  let log = '';

  // rank 0 (on the first host) reads hpccinf.txt from mpiexec's directory: make it exist there
  // (without it hpcc runs on with built-in sizes: a run that means nothing, and a long one)
  const rank0 = hosts?.[0]?.name;
  const staged: Staged[] = [];
  let unstaged: string | null = null;
  for (const host of remote) {
    const r = spawnSync(ssh[0]!, sshArgs(ssh, host, ['sh', '-c', STAGE, 'sh', dir, token, agent]), { input, encoding: 'utf8', timeout: 30_000 });
    const said = (r.stdout ?? '').trim();
    if (said.startsWith('created')) staged.push({ host, top: said.slice('created'.length).trim() });
    else if (said !== 'shared') {
      const why = `could not put hpccinf.txt on ${host}: ${(r.stderr ?? '').trim() || r.error?.message || `exit ${r.status}`}`;
      log += `orchid: ${why}\n`;
      if (host === rank0) unstaged = `${why} (rank 0 reads it there)`;
    }
  }

  const args: string[] = [...h.flags, ...place.args];
  const env: NodeJS.ProcessEnv = { ...process.env, ...place.env };
  const threads = String(positiveInt(o.blasThreads ?? 1, 'blasThreads'));
  const threadEnv = { OPENBLAS_NUM_THREADS: threads, OMP_NUM_THREADS: threads, BLIS_NUM_THREADS: threads, MKL_NUM_THREADS: threads };
  Object.assign(env, threadEnv);
  const yieldIdle = o.yieldWhenIdle ?? (remote.length === 0 && ranks > availableParallelism());
  // (Hydra passes this environment to every rank; Open MPI only what -x names)
  if (h.flavor !== 'mpich') {
    if (yieldIdle) args.push('--mca', 'mpi_yield_when_idle', '1');
    for (const [k, v] of Object.entries(threadEnv)) args.push('-x', `${k}=${v}`);
  }
  args.push('-n', String(ranks), h.binary);

  const started = Date.now();
  const command = [h.mpiexec, ...args].map(shellQuote).join(' ');
  // rank 0 would have no input: mpiexec is not started (a no-op stands in for it)
  const child = unstaged
    ? spawn('sh', ['-c', ':'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    : spawn(h.mpiexec, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let err = log;
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (err = tail(err + s)));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err = tail(err + s)));
  let timedOut = false;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      /* gone */
    }
  };
  let killTimer: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    // mpiexec tears the remote daemons down on SIGTERM; SIGKILL if it does not end
    signal('SIGTERM');
    killTimer = setTimeout(() => signal('SIGKILL'), 3000);
  }, o.timeoutMs);

  const sshRun = (host: string, remoteCmd: string[]) =>
    new Promise<{ out: string; ok: boolean; err: string }>((resolve) =>
      execFile(ssh[0]!, sshArgs(ssh, host, remoteCmd), { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 * 1024 * 1024 }, (e, out, se) =>
        resolve({ out: String(out ?? ''), ok: !e, err: String(se ?? '') || String(e ?? '') }),
      ),
    );

  const finish = async (code: number | null): Promise<HpccRunResult> => {
    clearTimeout(timer);
    if (killTimer) clearTimeout(killTimer);
    signal('SIGKILL'); // nothing of the job outlives mpiexec
    const seconds = (Date.now() - started) / 1000;
    let text: string | null = !unstaged && existsSync(outFile) ? readFileSync(outFile, 'utf8') : null;
    if (text === null && !unstaged && rank0 !== undefined && staged.some((s) => s.host === rank0)) {
      const r = await sshRun(rank0, ['cat', join(dir, 'hpccoutf.txt')]);
      if (r.ok) {
        text = r.out;
        writeFileSync(outFile, text);
      } else err = tail(`${err}orchid: could not fetch hpccoutf.txt from ${rank0}: ${r.err.trim()}\n`);
    }
    for (const s of staged) {
      const cmd = s.top ? ['rm', '-rf', '--', s.top] : ['rm', '-f', '--', join(dir, 'hpccinf.txt'), join(dir, 'hpccoutf.txt'), agentPath];
      await sshRun(s.host, cmd);
    }
    let summary: HpccSummary | null = null;
    let error: string | null = null;
    if (unstaged) error = `hpcc not started: ${unstaged}`;
    else if (text === null) error = `hpcc wrote no hpccoutf.txt${timedOut ? ` (killed after ${o.timeoutMs} ms)` : code !== 0 ? ` (mpiexec exit ${code})` : ''}`;
    else {
      try {
        summary = parseHpccOutput(text);
      } catch (e) {
        error = `${(e as Error).message}${timedOut ? ` (killed after ${o.timeoutMs} ms)` : ''}`;
      }
    }
    return { summary, code: unstaged ? null : code, stderr: err, seconds, timedOut, error, outFile: text === null ? null : outFile, command };
  };

  const promise = new Promise<HpccRunResult>((resolve) => {
    let done = false;
    child.on('close', (code) => {
      if (done) return;
      done = true;
      void finish(code).then(resolve);
    });
    child.on('error', (e) => {
      if (done) return;
      done = true;
      err += `orchid: cannot start ${h.mpiexec}: ${e.message}\n`;
      void finish(-1).then(resolve);
    });
  });
  return { promise, child };
}
