// One rank process under a proxy: started in its own process group (so a signal reaches
// whatever it spawned too), output relayed as whole lines, the secret handed over on fd 3.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import { LineSplitter } from './lines.js';
import type { OutStream } from './protocol.js';
import { rankCommand } from './script.js';
import { boundCommand, type Core } from './binding.js';

export interface RankExit {
  code: number | null;
  signal: string | null;
  pid: number | null;
  error?: string;
}

export interface RankProcessOptions {
  rank: number;
  script: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Base64 job secret, written to fd 3 followed by '\n'. */
  secret: string;
  stdin: boolean;
  /** --bind-to core: the core to pin the rank to (through taskset). */
  core?: Core;
  onStarted(pid: number): void;
  onOut(stream: OutStream, text: string): void;
  onExit(exit: RankExit): void;
  /** A JSON line the rank wrote on its launcher pipe (its uncaught error, an answer to a query). */
  onReport?(msg: Record<string, unknown>): void;
}

// After the rank exits, how long its output pipes may stay open (held by something
// that escaped the process group) before we stop waiting for them.
const DRAIN_MS = 1000;

export class RankProcess {
  readonly rank: number;
  pid: number | null = null;
  exited = false;
  private readonly child: ChildProcess;
  private finished = false;
  private exitInfo: RankExit | undefined;
  private openStreams = 2;
  private drainTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: RankProcessOptions) {
    this.rank = opts.rank;
    const plain = rankCommand(opts.script, opts.args);
    const cmd = opts.core ? boundCommand(plain, opts.core) : plain;
    this.child = spawn(cmd.file, cmd.args, {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe'],
    });
    const child = this.child;
    child.on('error', (err) => {
      // spawn failure (ENOENT, EACCES, bad cwd): there is no process and no 'exit'
      if (child.pid === undefined) this.onChildExit(127, null, `could not be started: ${err.message}`);
    });
    child.on('exit', (code, signal) => this.onChildExit(code, signal, undefined));
    child.stdin?.on('error', () => {}); // EPIPE when the rank does not read its stdin
    const secretPipe = child.stdio[3] as Writable | null;
    if (secretPipe) {
      secretPipe.on('error', () => {});
      secretPipe.write(opts.secret + '\n');
      const reports = new LineSplitter((line) => {
        try {
          const msg = JSON.parse(line.toString('utf8')) as unknown;
          if (msg && typeof msg === 'object') opts.onReport?.(msg as Record<string, unknown>);
        } catch {
          // not ours
        }
      }, 1 << 20);
      (secretPipe as unknown as NodeJS.ReadableStream).on('data', (chunk: Buffer) => reports.push(chunk));
      // the rank's last report (its uncaught error) is read before its exit is reported
      this.openStreams++;
      secretPipe.on('close', () => {
        this.openStreams--;
        this.maybeFinish();
      });
    }
    this.relay('stdout');
    this.relay('stderr');
    if (child.pid !== undefined) {
      this.pid = child.pid;
      opts.onStarted(child.pid);
    }
  }

  private relay(stream: OutStream): void {
    const source = this.child[stream];
    if (!source) {
      this.openStreams--;
      return;
    }
    const lines = new LineSplitter((line) => this.opts.onOut(stream, line.toString('utf8')));
    source.on('data', (chunk: Buffer) => lines.push(chunk));
    source.on('error', () => {});
    source.on('close', () => {
      lines.flush();
      this.openStreams--;
      this.maybeFinish();
    });
  }

  private onChildExit(code: number | null, signal: string | null, error: string | undefined): void {
    if (this.exited) return;
    this.exited = true;
    this.exitInfo = { code, signal, pid: this.pid, ...(error ? { error } : {}) };
    // Whatever the rank left behind in its group goes with it.
    if (this.pid !== null) signalGroup(this.pid, 'SIGKILL');
    this.child.stdin?.destroy();
    if (this.openStreams > 0) {
      this.drainTimer = setTimeout(() => {
        (this.child.stdio[3] as Writable | null)?.destroy();
        this.child.stdout?.destroy();
        this.child.stderr?.destroy();
      }, DRAIN_MS);
    }
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (this.finished || !this.exited || this.openStreams > 0) return;
    this.finished = true;
    if (this.drainTimer) clearTimeout(this.drainTimer);
    this.opts.onExit(this.exitInfo!);
  }

  /** Send `sig` to the rank's process group (no-op once it has exited). */
  signal(sig: NodeJS.Signals | string): void {
    if (!this.exited && this.pid !== null) signalGroup(this.pid, sig);
  }

  /** Stop / resume reading the rank's output (the rank then blocks on a full pipe). */
  pauseOutput(): void {
    this.child.stdout?.pause();
    this.child.stderr?.pause();
  }

  resumeOutput(): void {
    this.child.stdout?.resume();
    this.child.stderr?.resume();
  }

  /** One JSON line to the rank on its launcher pipe (a query). */
  tell(msg: Record<string, unknown>): void {
    const pipe = this.child.stdio[3] as Writable | null;
    if (!this.exited && pipe && !pipe.destroyed && pipe.writable) pipe.write(JSON.stringify(msg) + '\n');
  }

  writeStdin(data: Buffer): void {
    const s = this.child.stdin;
    if (s && !s.destroyed) s.write(data);
  }

  endStdin(): void {
    const s = this.child.stdin;
    if (s && !s.destroyed) s.end();
  }
}

function signalGroup(pid: number, sig: NodeJS.Signals | string): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // ESRCH: the group is already gone
  }
}
