// --transport mpi: the job runs under the mpiexec of the MPI the native addon was built
// against (MPICH's Hydra: mpiexec.hydra / mpiexec.mpich; Open MPI: mpiexec.openmpi), which
// starts the ranks, relays their output and tears the job down when a rank fails. orchidrun's
// options are translated (-n, hosts/hostfile, --env/--export, --tag-output, --timeout,
// --wdir); the output comes back as the same rank-attributed lines as with ws.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { OrchidError } from '../errors.js';
import { probeAddon } from '../transport/mpi/addon.js';
import type { Job, JobResult, OutputLine } from './job.js';
import type { JobPlan, LaunchOptions } from './job-plan.js';
import { jobMapLines } from './job-map.js';
import { planJob } from './job-plan.js';
import { AsyncQueue } from './queue.js';
import { findOnPath, rankCommand } from './script.js';
import { addressTowards, splitCommand } from './ssh.js';
import { Coordinator } from './coordinator.js';
import type { SeeInside } from './see-inside.js';
import { newSecret } from '../transport/auth.js';

export type MpiFlavor = 'mpich' | 'openmpi';

const CANDIDATES: Record<MpiFlavor, string[]> = {
  mpich: ['mpiexec.hydra', 'mpiexec.mpich', 'mpiexec', 'mpirun'],
  openmpi: ['mpiexec.openmpi', 'mpirun.openmpi', 'mpiexec', 'mpirun'],
};

/** What an mpiexec binary is, from its --version text. */
export function mpiexecFlavor(path: string): MpiFlavor | undefined {
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1' } });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (/HYDRA|MPICH/i.test(text)) return 'mpich';
  if (/Open MPI|OpenRTE|open-mpi/i.test(text)) return 'openmpi';
  return undefined;
}

/** The mpiexec matching `flavor`: ORCHID_MPIEXEC, else the first candidate on PATH that says it is that MPI. */
export function findMpiexec(flavor: MpiFlavor): { path?: string; tried: string[] } {
  const tried: string[] = [];
  const env = process.env.ORCHID_MPIEXEC;
  const names = env ? [env] : CANDIDATES[flavor];
  for (const name of names) {
    const path = name.includes('/') ? name : findOnPath(name);
    if (!path) continue;
    const f = mpiexecFlavor(path);
    tried.push(`${path} (${f ?? 'unknown'})`);
    if (f === flavor) return { path, tried };
  }
  return { tried };
}

const FLAVOR_NAME: Record<string, string> = { mpich: 'MPICH', openmpi: 'Open MPI', unknown: 'an unknown MPI' };

function arg(message: string): OrchidError {
  return new OrchidError('ERR_ARG', message);
}

/** Whether `--transport auto` should pick mpi: only when asked to (ORCHID_AUTO_TRANSPORT=mpi) and the addon loads. */
export function autoPicksMpi(): boolean {
  return process.env.ORCHID_AUTO_TRANSPORT === 'mpi' && probeAddon().available;
}

export interface MpiexecCommand {
  file: string;
  args: string[];
  flavor: MpiFlavor;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** the directory of the ssh wrapper Hydra runs (removed when the job ends) */
  tmpDir?: string;
}

/** The mpiexec command line for `opts` (throws ERR_ARG when the mpi transport cannot run). */
export function mpiexecCommand(opts: LaunchOptions): { cmd: MpiexecCommand; np: number; timeout?: number; tagOutput: boolean; plan: JobPlan } {
  const status = probeAddon(); // in a child: libmpi stays out of the launcher
  if (!status.available) throw arg(`the mpi transport is not available: ${status.reason}`);
  if (status.flavor !== 'mpich' && status.flavor !== 'openmpi') throw arg('--transport mpi: the native addon was built against an MPI that is neither MPICH nor Open MPI');
  const flavor: MpiFlavor = status.flavor;
  const plan = planJob({ ...opts, transport: 'ws', bootstrap: opts.bootstrap ?? (undefined as never) });
  if (flavor === 'mpich' && plan.mapBy === 'node' && plan.placement.hosts.length > 1) {
    throw arg("--map-by node with --transport mpi: MPICH's mpiexec (Hydra) places ranks in blocks per host; use --transport ws, or --ppn 1 and one host entry per rank");
  }
  if (flavor === 'mpich' && plan.reportBindings) throw arg("--report-bindings with --transport mpi: MPICH's mpiexec (Hydra) cannot report bindings; use --transport ws");
  const found = findMpiexec(flavor);
  if (!found.path)
    throw arg(
      `--transport mpi: the addon is built against ${FLAVOR_NAME[flavor]}, but no ${FLAVOR_NAME[flavor]} mpiexec was found` +
        `${found.tried.length ? ` (found only: ${found.tried.join(', ')})` : ''}; install ${flavor === 'mpich' ? 'mpich' : 'openmpi-bin'} or set ORCHID_MPIEXEC`,
    );
  const np = plan.placement.np;
  const rankEnv: Record<string, string> = { ...plan.env, ORCHID_TRANSPORT: 'mpi', ORCHID_SIZE: String(np), ORCHID_JOB: randomBytes(6).toString('hex') };
  const args: string[] = [];
  const hosts = plan.placement.hosts;
  const allLocal = hosts.every((h) => h.local);
  const hostList = hosts.map((h) => `${h.name}:${h.ranks.length}`).join(',');
  const ssh = !allLocal && opts.ssh !== undefined ? splitCommand(opts.ssh) : undefined;
  const iface = opts.iface !== undefined && !isIP(opts.iface) ? opts.iface : undefined;
  let tmpDir: string | undefined;
  if (flavor === 'mpich') {
    if (plan.apps.length === 1) args.push('-n', String(np));
    if (!allLocal) args.push('-hosts', hostList);
    // Hydra takes one executable for ssh: a command line with arguments goes into a wrapper
    if (ssh) {
      const wrapper = sshWrapper(ssh);
      tmpDir = dirname(wrapper);
      args.push('-launcher', 'ssh', '-launcher-exec', wrapper);
    }
    if (iface) args.push('-iface', iface);
    if (opts.bindTo !== undefined) args.push('-bind-to', opts.bindTo);
    args.push('-wdir', plan.wdir, '-prepend-rank');
    for (const [k, v] of Object.entries(rankEnv)) args.push('-genv', k, v);
  } else {
    if (plan.apps.length === 1) args.push('-n', String(np));
    args.push('--oversubscribe', '--tag-output');
    if (plan.mapBy === 'node') args.push('--map-by', 'node');
    if (opts.bindTo !== undefined) args.push('--bind-to', opts.bindTo);
    if (plan.reportBindings) args.push('--report-bindings');
    if (!allLocal) args.push('--host', hostList);
    if (ssh) args.push('--mca', 'plm_rsh_agent', ssh.map(shellQuote).join(' '));
    if (iface) args.push('--mca', 'btl_tcp_if_include', iface, '--mca', 'oob_tcp_if_include', iface);
    args.push('--wdir', plan.wdir);
    for (const [k, v] of Object.entries(rankEnv)) args.push('-x', `${k}=${v}`);
  }
  // MPMD: each section `-n N [env K=V …] COMMAND` after a ':' (both MPIs take the colon syntax)
  const envProg = plan.apps.length > 1 || Object.keys(plan.apps[0]!.env).length > 0 ? findOnPath('env') ?? '/usr/bin/env' : undefined;
  plan.apps.forEach((app, k) => {
    const rc = rankCommand(app.script, app.args);
    const own = Object.entries({ ...app.env, ...(plan.apps.length > 1 ? { ORCHID_APPNUM: String(k) } : {}) }).map(([n, v]) => `${n}=${v}`);
    const cmdline = own.length > 0 ? [envProg!, ...own, rc.file, ...rc.args] : [rc.file, ...rc.args];
    if (plan.apps.length > 1) {
      if (k > 0) args.push(':');
      args.push('-n', String(app.np));
    }
    args.push(...cmdline);
  });
  const env: NodeJS.ProcessEnv = { ...process.env, ...rankEnv };
  if (flavor === 'openmpi' && process.getuid?.() === 0) {
    env.OMPI_ALLOW_RUN_AS_ROOT = '1';
    env.OMPI_ALLOW_RUN_AS_ROOT_CONFIRM = '1';
  }
  return { cmd: { file: found.path, args, flavor, env, cwd: plan.wdir, tmpDir }, np, timeout: plan.timeout, tagOutput: plan.tagOutput, plan };
}

function shellQuote(w: string): string {
  return /^[A-Za-z0-9_./=:,@+-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

/** An executable that runs `ssh` (a split command line) with the arguments Hydra gives it. */
function sshWrapper(ssh: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'orchid-ssh-'));
  const file = join(dir, 'ssh');
  writeFileSync(file, `#!/bin/sh\nexec ${ssh.map(shellQuote).join(' ')} "$@"\n`, { mode: 0o700 });
  return file;
}

const MPICH_LINE = /^\[(\d+)\] ?(.*)$/s;
const OMPI_LINE = /^\[\d+,(\d+)\]<(stdout|stderr)>: ?(.*)$/s;

/** A job run by mpiexec. */
export class MpiexecJob implements Job {
  readonly id = randomBytes(6).toString('hex');
  readonly np: number;
  readonly output = new AsyncQueue<OutputLine>();
  readonly done: Promise<JobResult>;
  private child: ChildProcess | undefined;
  private resolveDone!: (r: JobResult) => void;
  private killedWith: NodeJS.Signals | undefined;
  private timedOut = false;
  private kills = 0;
  private firstCode: number | undefined;
  private guardProc: ChildProcess | undefined;
  private see: SeeInside | undefined;
  private coordinator: Coordinator | undefined;

  constructor(
    private readonly opts: LaunchOptions,
    /** --trace / --profile / --live for a job of np ranks */
    seeFor?: (np: number) => SeeInside | undefined,
  ) {
    this.done = new Promise((r) => (this.resolveDone = r));
    const { cmd, np, timeout, tagOutput, plan } = mpiexecCommand(opts);
    this.np = np;
    this.see = seeFor?.(np);
    if (plan.displayMap) for (const text of jobMapLines(plan)) this.output.push({ rank: -1, stream: 'stdout', text });
    const remote = plan.placement.hosts.find((h) => !h.local);
    if (!this.see && !remote) this.start(cmd, timeout, tagOutput);
    else
      this.prepare(cmd, plan, remote?.name).then(
        () => this.start(cmd, timeout, tagOutput),
        (e: unknown) => {
          if (cmd.tmpDir) rmSync(cmd.tmpDir, { recursive: true, force: true });
          this.output.push({ rank: -1, stream: 'stderr', text: `orchidrun: could not start the job: ${(e as Error).message}` });
          this.output.end();
          this.resolveDone({ code: 255, message: `could not start the job: ${(e as Error).message}` });
        },
      );
  }

  /**
   * What needs this host's address before mpiexec starts: with remote hosts, the address that
   * routes to the first one (or --iface's), which Hydra's proxies are told to call back
   * (-localhost; by default Hydra sends its own hostname, which often resolves to 127.0.0.1 or
   * 127.0.1.1 in /etc/hosts and then no proxy can connect); and the trace coordinator.
   */
  private async prepare(cmd: MpiexecCommand, plan: JobPlan, remote: string | undefined): Promise<void> {
    const host = plan.addr ?? (remote !== undefined ? await addressTowards(remote, plan.ssh) : '127.0.0.1');
    if (remote !== undefined && cmd.flavor === 'mpich') cmd.args.unshift('-localhost', host);
    if (this.see) await this.startSeen(this.see, cmd, host);
  }

  /**
   * The coordinator the ranks ship their trace to (rank/join-mpi.ts), on `host`; its key goes
   * in mpiexec's environment only (-genvlist / -x NAME: never on a command line).
   */
  private async startSeen(see: SeeInside, cmd: MpiexecCommand, host: string): Promise<void> {
    const key = newSecret();
    const coord = new Coordinator({ secret: key, size: this.np, host });
    this.coordinator = coord;
    see.attach(coord);
    const addr = await coord.start();
    for (const text of await see.start()) this.output.push({ rank: -1, stream: 'stderr', text });
    const env = { ...see.rankEnv(), ORCHID_COORD: addr };
    cmd.env.ORCHID_TRACE_KEY = key.toString('base64');
    const pre: string[] = [];
    for (const [k, v] of Object.entries(env)) {
      cmd.env[k] = v;
      pre.push(...(cmd.flavor === 'mpich' ? ['-genv', k, v] : ['-x', `${k}=${v}`]));
    }
    pre.push(...(cmd.flavor === 'mpich' ? ['-genvlist', 'ORCHID_TRACE_KEY'] : ['-x', 'ORCHID_TRACE_KEY']));
    cmd.args.unshift(...pre);
  }

  private start(cmd: MpiexecCommand, timeout: number | undefined, tagOutput: boolean): void {
    const stdin = this.opts.stdin ?? 'ignore';
    const child = spawn(cmd.file, cmd.args, {
      cwd: cmd.cwd,
      env: cmd.env,
      stdio: [stdin === 'inherit' || stdin === 'ignore' ? stdin : 'pipe', 'pipe', 'pipe'],
      detached: true,
    });
    this.child = child;
    this.guard(child.pid);
    if (typeof stdin === 'object') stdin.pipe(child.stdin!);
    else if (stdin !== 'inherit' && stdin !== 'ignore') child.stdin!.end(stdin);
    let open = 2;
    const lines = (stream: NodeJS.ReadableStream, name: 'stdout' | 'stderr') => {
      const rl = createInterface({ input: stream, crlfDelay: Infinity });
      rl.on('line', (raw) => {
        let rank = -1;
        let text = raw;
        let out: 'stdout' | 'stderr' = name;
        const m = cmd.flavor === 'mpich' ? MPICH_LINE.exec(raw) : OMPI_LINE.exec(raw);
        if (m && cmd.flavor === 'mpich') {
          rank = Number(m[1]);
          text = m[2]!;
        } else if (m) {
          rank = Number(m[1]);
          out = m[2] as 'stdout' | 'stderr';
          text = m[3]!;
        }
        // Hydra's report of the first rank that failed: its exit code becomes the job's
        const bad = rank < 0 ? /^=\s+EXIT CODE: (\d+)/.exec(raw) : null;
        if (bad && this.firstCode === undefined) this.firstCode = Number(bad[1]);
        this.output.push({ rank, stream: out, text: tagOutput && rank >= 0 ? `[${rank}] ${text}` : text });
      });
      rl.on('close', () => {
        if (--open === 0) finish();
      });
    };
    lines(child.stdout!, 'stdout');
    lines(child.stderr!, 'stderr');
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = () => {
      if (!exit || open > 0) return;
      if (this.see && !settled) {
        // the trace's last lines may still be on their way from ranks that ended well
        settled = true;
        const all = exit.code === 0 ? Array.from({ length: this.np }, (_, i) => i) : [];
        void this.see.settle(all, 2000).then(finish);
        return;
      }
      if (timer) clearTimeout(timer);
      this.guardProc?.stdin?.end();
      if (cmd.tmpDir) rmSync(cmd.tmpDir, { recursive: true, force: true });
      for (const text of this.see?.finish() ?? []) this.output.push({ rank: -1, stream: 'stderr', text });
      void this.coordinator?.close();
      this.output.end();
      const { code, signal } = exit;
      let status = this.timedOut ? 124 : code ?? 128 + (signal ? signalNumber(signal) : 0);
      if (status !== 0 && !this.timedOut && this.firstCode !== undefined && this.firstCode !== 0) status = this.firstCode;
      const r: JobResult = { code: status };
      if (this.killedWith) r.signal = this.killedWith;
      if (this.timedOut) r.message = `the job exceeded --timeout ${timeout} s and was ended`;
      else if (status !== 0) r.message = `${cmd.file} ended with ${code !== null ? `code ${code}` : `signal ${signal}`} (a rank failed or was killed; see its output above)`;
      this.resolveDone(r);
    };
    child.on('error', (e) => {
      this.output.push({ rank: -1, stream: 'stderr', text: `orchidrun: cannot start ${cmd.file}: ${e.message}` });
      exit = { code: 127, signal: null };
      open = 0;
      finish();
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // ranks that outlive mpiexec (they should not) are ended with it
      this.signalGroup('SIGKILL');
      finish();
    });
    if (timeout !== undefined)
      timer = setTimeout(() => {
        this.timedOut = true;
        this.kill('SIGTERM');
        setTimeout(() => this.signalGroup('SIGKILL'), 2000).unref();
      }, timeout * 1000);
  }

  /**
   * mpiexec runs in its own process group (so one signal reaches it and its ranks). A guard
   * process holds a pipe from this launcher: when the launcher dies, even by SIGKILL, the pipe
   * closes and the guard kills that group, so nothing is left running.
   */
  private guard(pgid: number | undefined): void {
    if (pgid === undefined) return;
    const code = `process.stdin.resume();process.stdin.on('close',()=>{try{process.kill(-${pgid},'SIGKILL')}catch{}process.exit(0)})`;
    const g = spawn(process.execPath, ['-e', code], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    g.unref();
    (g.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    this.guardProc = g;
  }

  private signalGroup(sig: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      /* gone */
    }
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    this.killedWith ??= signal;
    if (this.kills++ === 0) {
      try {
        this.child?.kill(signal);
      } catch {
        /* gone */
      }
      setTimeout(() => this.signalGroup('SIGKILL'), 2000).unref();
    } else this.signalGroup('SIGKILL');
  }
}

function signalNumber(sig: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[sig] ?? 0;
}
