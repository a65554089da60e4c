// The launcher's end of one proxy: whatever process speaks the proxy protocol on its
// stdin/stdout (a local child for fork, an ssh client for ssh).
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { LineSplitter } from './lines.js';
import type { ControlMessage, ProxyEvent } from './protocol.js';

export interface ProxyLinkEvents {
  event: [ev: ProxyEvent];
  /** The proxy process is gone and all its events have been delivered. `problem` when it ended badly. */
  close: [problem: string | undefined];
}

export class ProxyLink extends EventEmitter<ProxyLinkEvents> {
  private done = false;
  private ready = false;
  private paused = false;
  /** Date.now() of the last line from the proxy (heartbeats included). */
  private lastHeard = Date.now();
  private hbTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly stderrTail: string[] = [];
  private readonly rankPids = new Map<number, number>();
  /** Kills what is left of job `job` on the host (ssh: over a second session), once the proxy is gone. */
  reaper: ((job: string) => Promise<void>) | undefined;
  /** The proxy said goodbye ('done') before going away. */
  get saidDone(): boolean {
    return this.done;
  }

  /** The proxy came up on its host (said 'ready'). */
  get wasReady(): boolean {
    return this.ready;
  }

  /** Given up on with lose() (its host stopped answering: a second session would not get through). */
  get wasLost(): boolean {
    return this.lostWhy !== undefined;
  }

  /**
   * `local`: rank pids are on this machine, so the launcher can kill them itself if the proxy dies.
   * `via`: how the proxy was started, for the messages.
   */
  constructor(
    readonly host: string,
    private readonly child: ChildProcess,
    private readonly local: boolean,
    readonly via: 'fork' | 'ssh' | 'srun' = 'fork',
  ) {
    super();
    const out = new LineSplitter((line) => this.onLine(line), 512 * 1024 * 1024);
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
    const err = new LineSplitter((line) => {
      this.stderrTail.push(line.toString('utf8'));
      if (this.stderrTail.length > 20) this.stderrTail.shift();
    });
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
    child.stdin!.on('error', () => {});
    let spawnError: Error | undefined;
    child.on('error', (e) => {
      spawnError = e;
      if (child.pid === undefined) this.onClose(null, null, e);
    });
    child.on('close', (code, signal) => {
      out.flush();
      err.flush();
      this.onClose(code, signal, spawnError);
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private onLine(line: Buffer): void {
    this.lastHeard = Date.now();
    let ev: ProxyEvent;
    try {
      ev = JSON.parse(line.toString('utf8')) as ProxyEvent;
    } catch {
      this.stderrTail.push(`unreadable event line: ${line.toString('utf8').slice(0, 200)}`);
      return;
    }
    if (ev.t === 'hb') return;
    if (ev.t === 'ready') this.ready = true;
    if (ev.t === 'started') this.rankPids.set(ev.rank, ev.pid);
    else if (ev.t === 'exit') this.rankPids.delete(ev.rank);
    else if (ev.t === 'done') this.done = true;
    this.emit('event', ev);
  }

  private onClose(code: number | null, signal: NodeJS.Signals | null, error: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    if (this.hbTimer) clearInterval(this.hbTimer);
    let problem: string | undefined;
    if (this.lostWhy !== undefined) problem = this.lostWhy;
    else if (this.via === 'ssh' && !this.ready && !error && code === 255) {
      // ssh's own failure (cannot connect, key refused, host key mismatch): its last words say why
      const tail = this.stderrTail.filter((l) => l.trim() !== '').slice(-3).join(' | ');
      problem = `cannot start the proxy on host ${this.host} over ssh (ssh exit 255)${tail ? `: ${tail}` : ''}`;
    } else if (this.via === 'ssh' && !this.ready && !error && (code === 126 || code === 127)) {
      // the remote shell could not run node
      const tail = this.stderrTail.filter((l) => l.trim() !== '').slice(-2).join(' | ');
      problem = `cannot start the proxy on host ${this.host}: ${tail || `exit ${code}`} (node must be at the same path there, or set ORCHID_REMOTE_NODE)`;
    } else if (this.via === 'srun' && !this.ready && !error && code !== 0) {
      const tail = this.stderrTail.filter((l) => l.trim() !== '').slice(-3).join(' | ');
      problem = `cannot start the proxy on host ${this.host} with srun (${signal ? `signal ${signal}` : `exit ${code}`})${tail ? `: ${tail}` : ''}`;
    } else if (!this.done) {
      const tail = this.stderrTail.filter((l) => l.trim() !== '').slice(-3).join(' | ');
      // ssh exits 255 both for its own failures and when the remote command died by a signal;
      // the proxy catches SIGTERM/SIGINT/SIGHUP (and exits 128+n), so 255 with nothing from ssh
      // itself means a signal it cannot catch
      const killed = this.via === 'ssh' && !error && code === 255 && !/closed by remote host|broken pipe|timed? ?out|connection reset|disconnect/i.test(tail);
      const how = error
        ? `could not be started (${error.message})`
        : signal
          ? `was killed by signal ${signal}`
          : killed
            ? 'was killed (by SIGKILL or another signal it cannot catch: ssh exit 255 without a word from the proxy)'
            : this.via === 'ssh' && code === 255
              ? 'was lost (ssh exit 255: the connection dropped or the proxy was killed)'
              : `exited with code ${code}`;
      problem = `the proxy on host ${this.host} ${how}${tail ? `: ${tail}` : ''}`;
      if (this.local) for (const pid of this.rankPids.values()) killGroup(pid);
    }
    this.emit('close', problem);
  }

  send(msg: ControlMessage): void {
    const stdin = this.child.stdin;
    if (stdin && !stdin.destroyed && stdin.writable) stdin.write(JSON.stringify(msg) + '\n');
  }

  /** Stop / resume reading the proxy's events (backpressure: the proxy then pauses its ranks). */
  pause(): void {
    this.paused = true;
    this.child.stdout?.pause();
  }

  resume(): void {
    this.paused = false;
    this.lastHeard = Date.now();
    this.child.stdout?.resume();
  }

  private lostWhy: string | undefined;

  /**
   * Heartbeats both ways: a line to the proxy every `everyMs` (the proxy ends its ranks
   * when it hears nothing for its timeout), and `onSilent` when nothing came back for
   * `timeoutMs` while we were reading (a host whose link went down, a frozen proxy).
   */
  startHeartbeat(everyMs: number, timeoutMs: number, onSilent: (silentMs: number) => void): void {
    this.lastHeard = Date.now();
    let lastTick = Date.now();
    this.hbTimer = setInterval(() => {
      if (this.closed) return;
      this.send({ t: 'hb' });
      const now = Date.now();
      // this process was stalled (timers run before pending input is read): not the host's fault
      if (now - lastTick > 2 * everyMs) this.lastHeard = now;
      lastTick = now;
      // until the proxy is up, ssh's ConnectTimeout is what bounds the wait
      if (!this.ready) this.lastHeard = Date.now();
      const silent = Date.now() - this.lastHeard;
      if (!this.paused && silent > timeoutMs) {
        clearInterval(this.hbTimer);
        onSilent(silent);
      }
    }, everyMs);
    this.hbTimer.unref();
  }

  /** The host stopped answering: give up on it now (its proxy ends its ranks on its own). */
  lose(why: string): void {
    this.lostWhy ??= why;
    try {
      this.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }

  /** Close the proxy's stdin: it kills its ranks and exits. */
  hangUp(): void {
    this.child.stdin?.end();
  }

  /** Last resort when the proxy does not go away. */
  destroy(): void {
    if (this.local) for (const pid of this.rankPids.values()) killGroup(pid);
    try {
      this.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone
  }
}
