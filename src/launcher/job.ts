// One running job: coordinator up, one proxy per host, output collected, exit rules
// applied (first failing rank decides, teardown within seconds, nothing left behind).
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { newSecret } from '../transport/auth.js';
import { Coordinator } from './coordinator.js';
import { appOfRank, type JobPlan } from './job-plan.js';
import type { HostPlan } from './placement.js';
import { SECRET_FD, type HostJobSpec, type OutStream, type ProxyEvent } from './protocol.js';
import { formatRanks } from './rank-list.js';
import { CULPRIT_WAIT_MS, earlyLeaver, isVictim, rankFailure, type RankState } from './blame.js';
import type { ProxyLink } from './proxy-link.js';
import { AsyncQueue } from './queue.js';
import { addressTowards } from './ssh.js';
import { slurmNodeAddr } from './slurm.js';
import type { SeeInside } from './see-inside.js';
import { feedStdin } from './stdin-feed.js';

export interface OutputLine {
  rank: number;
  stream: OutStream;
  text: string;
}

export interface JobResult {
  /** The launcher's exit status: 0, the first failing rank's code, 128+n, 124 on timeout. */
  code: number;
  /** The signal the job was ended with through kill() (e.g. SIGINT for Ctrl-C). */
  signal?: string;
  /** The rank that ended the job. */
  failed?: { rank: number; host: string; cause: string };
  /** One line for stderr explaining a non-zero code (without the `orchidrun: ` prefix). */
  message?: string;
}

export interface Job {
  readonly id: string;
  readonly np: number;
  output: AsyncIterable<OutputLine>;
  done: Promise<JobResult>;
  /** End the job: `signal` (default SIGTERM) to every rank, SIGKILL after the grace time. A second call kills hard. */
  kill(signal?: NodeJS.Signals): void;
  /** Send `signal` to every rank without ending the job (SIGTSTP/SIGCONT for Ctrl-Z and fg, SIGUSR1 …). */
  signal?(signal: NodeJS.Signals): void;
  /** Print (as output lines of rank -1) what every rank waits for; the job goes on. Resolves once printed. */
  reportPending?(): Promise<void>;
}

// After teardown starts, how long to wait past the kill grace for proxies to report
// before hanging up on them, and then before killing them.
const HANGUP_AFTER_MS = 3000;
// Between telling the ranks the job is over (coordinator) and signalling them (proxies).
const ABORT_NOTICE_MS = 200;
const DESTROY_AFTER_MS = 3000;
// How long the launcher waits for every rank's answer to "what are you waiting for"
// (a proxy answers for a busy rank after its own, shorter wait).
const PENDING_REPORT_MS = 2500;
// How long the end of a --trace/--profile job waits for the totals of ranks that exited 0.
const SEE_SETTLE_MS = 2000;
// At most this many per-rank lines in that report.
const PENDING_LINES = 64;

// Heartbeats with remote proxies: one line each way every second; a host silent for
// ORCHID_HEARTBEAT_TIMEOUT seconds (default 5) is lost (its link is down, it froze).
const HEARTBEAT_MS = 1000;
function heartbeatTimeoutMs(): number {
  const s = Number(process.env.ORCHID_HEARTBEAT_TIMEOUT);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 5000;
}

export class JobRun implements Job {
  readonly id = randomBytes(6).toString('hex');
  readonly np: number;
  readonly output = new AsyncQueue<OutputLine>();
  readonly done: Promise<JobResult>;
  private resolveDone!: (r: JobResult) => void;
  private readonly secret = newSecret();
  private coordinator: Coordinator | undefined;
  private readonly links: ProxyLink[] = [];
  private openLinks = 0;
  private started = false;
  private ending: JobResult | undefined;
  private finished = false;
  private readonly ranks: RankState[];
  private readonly timers: NodeJS.Timeout[] = [];
  private stopStdin: (() => void) | undefined;
  private outputPaused = false;
  private addr: string;
  private queryId = 0;
  private readonly queries = new Map<number, { answers: Map<number, string>; live: number; finish: () => void }>();
  private interrupting = false;
  private seeSettled = false;
  /** a victim's failure, held back for CULPRIT_WAIT_MS in case the rank that caused it reports */
  private victim: { result: JobResult; timer: NodeJS.Timeout } | undefined;

  constructor(
    private readonly plan: JobPlan,
    /** --trace / --profile / --live */
    private readonly see?: SeeInside,
  ) {
    this.np = plan.placement.np;
    this.ranks = plan.placement.ranks.map((r) => ({ host: r.host, exited: false }));
    this.addr = plan.addr ?? '127.0.0.1';
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    if (Number.isFinite(plan.outputHighWater)) {
      this.output.lowWater = Math.floor(plan.outputHighWater / 2);
      this.output.onLow = () => {
        if (!this.outputPaused) return;
        this.outputPaused = false;
        for (const l of this.links) l.resume();
      };
    }
  }

  async start(): Promise<void> {
    try {
      if (this.plan.addr === undefined) {
        // advertise the address on the route to the first remote host
        const first = this.plan.placement.hosts.find((h) => !h.local)!;
        const known = this.plan.bootstrap.name === 'slurm' ? await slurmNodeAddr(first.name) : undefined;
        this.addr = await addressTowards(first.name, this.plan.ssh, known);
      }
      const coord = new Coordinator({ secret: this.secret, size: this.np, host: this.addr });
      this.coordinator = coord;
      if (this.see) {
        this.see.attach(coord);
        for (const text of await this.see.start()) this.output.push({ rank: -1, stream: 'stderr', text });
      }
      coord.on('abort', (rank, code, message) => {
        const cause = `called abort(${code})${message ? `: ${message}` : ''}`;
        this.end({ code, failed: { rank, host: this.ranks[rank]!.host, cause }, message: `rank ${rank} on host ${this.ranks[rank]!.host} ${cause}` });
      });
      const coordAddr = await coord.start();
      if (this.ending) {
        this.started = true;
        this.maybeFinish();
        return;
      }
      for (const host of this.plan.placement.hosts) this.startHost(host, coordAddr);
      const link = this.links[this.plan.placement.hosts.findIndex((h) => h.ranks.includes(0))];
      if (link) this.stopStdin = feedStdin(this.plan.stdin, (m) => link.send(m));
      if (this.plan.timeout !== undefined) {
        const s = this.plan.timeout;
        this.timers.push(
          setTimeout(() => {
            if (this.ending) return;
            void this.reportPending().then(() => this.end({ code: 124, message: `job timed out after ${s} s` }));
          }, s * 1000),
        );
      }
    } catch (e) {
      this.end({ code: 255, message: `could not start the job: ${(e as Error).message}` });
    }
    this.started = true;
    this.maybeFinish();
  }

  private startHost(host: HostPlan, coordAddr: string): void {
    const p = this.plan;
    const spec: HostJobSpec = {
      t: 'spec',
      job: this.id,
      host: host.name,
      secret: this.secret.toString('base64'),
      script: p.script,
      args: p.args,
      wdir: p.wdir,
      env: {
        ...mallocDefaults(p.env),
        ...p.env,
        ORCHID_SIZE: String(this.np),
        ORCHID_JOB: this.id,
        ORCHID_COORD: coordAddr,
        ORCHID_TRANSPORT: p.transport,
        ORCHID_HOST: host.name,
        // a remote proxy sets ORCHID_ADDR to its host's address on the route to the coordinator
        ...(host.local ? { ORCHID_ADDR: this.addr } : {}),
        ORCHID_SECRET_FD: String(SECRET_FD),
        ...this.see?.rankEnv(),
      },
      ranks: host.ranks.map((rank) => {
        const r = p.placement.ranks[rank]!;
        const app = appOfRank(p, rank); // MPMD: the rank's section
        return {
          rank,
          ...(p.apps.length > 1 ? { script: app.script, args: app.args } : {}),
          env: {
            ...app.env,
            ...(p.apps.length > 1 ? { ORCHID_APPNUM: String(app.index) } : {}),
            ORCHID_RANK: String(rank), ORCHID_LOCAL_RANK: String(r.localRank), ORCHID_LOCAL_SIZE: String(r.localSize),
          },
        };
      }),
      ...(p.bindTo === 'core' ? { bindTo: 'core' as const } : {}),
      ...(p.reportBindings ? { reportBindings: true } : {}),
      stdinRank: p.stdin !== 'ignore' && host.ranks.includes(0) ? 0 : null,
      killGraceMs: p.killGraceMs,
    };
    const link = p.bootstrap.startProxy(host);
    const hbTimeout = heartbeatTimeoutMs();
    if (link.via !== 'fork') {
      if (!host.local) spec.routeTo = coordAddr;
      spec.heartbeatMs = HEARTBEAT_MS;
      spec.heartbeatTimeoutMs = hbTimeout;
    }
    this.links.push(link);
    this.openLinks++;
    link.on('event', (ev) => this.onEvent(link, ev));
    link.on('close', (problem) => this.onLinkClose(host, problem, link));
    link.send(spec);
    if (link.via !== 'fork') {
      link.startHeartbeat(HEARTBEAT_MS, hbTimeout, (silent) =>
        link.lose(`ERR_PEER_LOST: host ${host.name} stopped answering (nothing from its proxy for ${(silent / 1000).toFixed(1)} s: link down or host frozen)`),
      );
    }
  }

  private onEvent(link: ProxyLink, ev: ProxyEvent): void {
    switch (ev.t) {
      case 'out': {
        const st = this.ranks[ev.rank];
        if (ev.stream === 'stderr' && st) {
          const hint = meaningful(ev.text);
          if (hint) st.lastErr = hint;
        }
        this.output.push({ rank: ev.rank, stream: ev.stream, text: this.plan.tagOutput ? `[${ev.rank}] ${ev.text}` : ev.text });
        if (!this.outputPaused && this.output.length >= this.plan.outputHighWater) {
          this.outputPaused = true;
          for (const l of this.links) l.pause();
        }
        break;
      }
      case 'exit':
        this.onRankExit(ev.rank, ev.code, ev.signal, ev.error);
        break;
      case 'rank-error': {
        const st = this.ranks[ev.rank];
        if (st && ev.error && typeof ev.error === 'object') st.error = ev.error;
        break;
      }
      case 'pending': {
        const q = this.queries.get(ev.id);
        if (q && this.ranks[ev.rank] && !q.answers.has(ev.rank)) {
          q.answers.set(ev.rank, ev.text);
          if (q.answers.size >= q.live) q.finish();
        }
        break;
      }
      case 'error':
        this.output.push({ rank: -1, stream: 'stderr', text: `orchidrun: ${ev.message} (host ${link.host})` });
        break;
      default:
        break;
    }
  }

  private onRankExit(rank: number, code: number | null, signal: string | null, error: string | undefined): void {
    const st = this.ranks[rank];
    if (!st || st.exited) return;
    st.exited = true;
    this.see?.rankEnded(rank);
    this.coordinator?.rankExited(rank, code, signal);
    st.code = code;
    if (this.ending || (code === 0 && !signal)) return;
    const result = rankFailure(this.ranks, rank, code, signal, error);
    if (!isVictim(st)) {
      this.failWith(result);
      return;
    }
    // This rank failed because another one is gone: name the one that caused it.
    const early = earlyLeaver(this.ranks, rank, result);
    if (early) {
      this.failWith(early);
      return;
    }
    if (this.victim) return;
    this.victim = { result, timer: setTimeout(() => this.failWith(result), CULPRIT_WAIT_MS) };
    this.timers.push(this.victim.timer);
  }

  /** End the job for this failure (a held-back victim's failure gives way to it). */
  private failWith(result: JobResult): void {
    if (this.victim) clearTimeout(this.victim.timer);
    this.victim = undefined;
    this.end(result);
  }

  /** Ask every live rank what it waits for; print one line per rank (as output of rank -1). */
  reportPending(): Promise<void> {
    const live = this.ranks.map((r, i) => (r.exited ? -1 : i)).filter((i) => i >= 0);
    if (this.finished || !this.started || live.length === 0 || this.links.length === 0) return Promise.resolve();
    const id = ++this.queryId;
    const multiHost = this.plan.placement.hosts.length > 1;
    return new Promise((resolve) => {
      const answers = new Map<number, string>();
      const finish = (): void => {
        if (!this.queries.delete(id)) return;
        clearTimeout(timer);
        const lines: string[] = [];
        for (const r of live) {
          const st = this.ranks[r]!;
          const text = answers.get(r) ?? (st.exited ? 'exited' : 'no answer (its host did not reply)');
          lines.push(`orchidrun: rank ${r}${multiHost ? ` (host ${st.host})` : ''}: ${text}`);
        }
        const shown = lines.slice(0, PENDING_LINES);
        if (lines.length > PENDING_LINES) shown.push(`orchidrun: … and ${lines.length - PENDING_LINES} more ranks`);
        for (const text of shown) this.output.push({ rank: -1, stream: 'stderr', text });
        resolve();
      };
      const timer = setTimeout(finish, PENDING_REPORT_MS);
      this.queries.set(id, { answers, live: live.length, finish });
      for (const l of this.links) l.send({ t: 'pending?', id });
    });
  }

  private onLinkClose(host: HostPlan, problem: string | undefined, link?: ProxyLink): void {
    this.openLinks--;
    if (host.local && link && !link.saidDone) {
      // the proxy died without cleaning up after its ranks (they were killed with it): their sockets
      let dir = this.plan.env.TMPDIR || tmpdir();
      if (dir.length > 1 && dir.endsWith('/')) dir = dir.slice(0, -1);
      for (const r of host.ranks) rmSync(join(dir, `orchid-${this.id.slice(0, 12)}-${r}.sock`), { force: true });
    }
    if (link?.reaper && link.wasReady && !link.saidDone && !link.wasLost) {
      // the proxy is gone without ending its ranks: kill what is left of this job on that host
      this.openLinks++;
      void link.reaper(this.id).then(() => {
        this.openLinks--;
        this.maybeFinish();
      });
    }
    const lost = host.ranks.filter((r) => !this.ranks[r]!.exited);
    for (const r of lost) {
      this.ranks[r]!.exited = true;
      this.coordinator?.rankExited(r, null, 'SIGKILL');
    }
    if (!this.ending && (problem || lost.length > 0)) {
      const why = problem ?? `the proxy on host ${host.name} exited early`;
      const rank = lost[0] ?? host.ranks[0]!;
      this.end({
        code: 255,
        failed: { rank, host: host.name, cause: 'was lost with its proxy' },
        message: `${why}; rank${lost.length === 1 ? '' : 's'} ${formatRanks(lost)} lost`,
      });
    }
    this.maybeFinish();
  }

  /** Begin teardown (once): tell ranks why, then signal, then hard-kill after the grace time. */
  private end(result: JobResult, firstSignal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.finished) return;
    if (this.ending) {
      if (firstSignal === 'SIGKILL') for (const l of this.links) l.send({ t: 'kill', sig: 'SIGKILL' });
      return;
    }
    this.ending = result;
    this.stopStdin?.();
    this.coordinator?.abortAll(result.code, result.message ?? (result.signal ? `job killed by ${result.signal}` : 'job ended'));
    // The ranks hear why (ERR_ABORTED with the reason) a moment before the signal arrives.
    const notice = firstSignal === 'SIGKILL' || !this.coordinator ? 0 : ABORT_NOTICE_MS;
    const kill = (): void => {
      if (this.finished) return;
      for (const l of this.links) l.send({ t: 'kill', sig: firstSignal, graceMs: this.plan.killGraceMs });
    };
    if (notice === 0) kill();
    else this.timers.push(setTimeout(kill, notice));
    const grace = notice + (firstSignal === 'SIGKILL' ? 0 : this.plan.killGraceMs);
    this.timers.push(setTimeout(() => this.links.forEach((l) => l.hangUp()), grace + HANGUP_AFTER_MS));
    this.timers.push(setTimeout(() => this.links.forEach((l) => l.destroy()), grace + HANGUP_AFTER_MS + DESTROY_AFTER_MS));
    this.maybeFinish();
  }

  signal(signal: NodeJS.Signals): void {
    if (this.ending || this.finished) return;
    for (const l of this.links) l.send({ t: 'signal', sig: signal });
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.ending) {
      this.end(this.ending, 'SIGKILL'); // a second request: no more grace
      return;
    }
    const n = constants.signals[signal];
    if (n === undefined) throw new TypeError(`kill(): unknown signal ${String(signal)}`);
    if (signal === 'SIGINT' && !this.interrupting) {
      // Ctrl-C: first say what every rank was waiting for (a second Ctrl-C does not wait)
      this.interrupting = true;
      void this.reportPending().then(() => {
        if (!this.ending) this.end({ code: 128 + n, signal }, signal);
      });
      return;
    }
    this.end({ code: 128 + n, signal }, signal);
  }

  private maybeFinish(): void {
    if (this.finished || !this.started || this.openLinks > 0) return;
    if (this.see && !this.seeSettled) {
      // the trace's last lines from ranks that ended well may still be on their way
      this.seeSettled = true;
      const ok = this.ranks.flatMap((r, i) => (r.code === 0 ? [i] : []));
      void this.see.settle(ok, SEE_SETTLE_MS).then(() => this.maybeFinish());
      return;
    }
    if (this.victim && !this.ending) {
      this.failWith(this.victim.result); // everyone is gone: the held-back failure is the answer
      return;
    }
    this.finished = true;
    for (const t of this.timers) clearTimeout(t);
    this.stopStdin?.();
    void this.coordinator?.close();
    for (const l of this.links) l.hangUp();
    for (const text of this.see?.finish() ?? []) this.output.push({ rank: -1, stream: 'stderr', text });
    this.output.end();
    this.resolveDone(this.ending ?? { code: 0 });
  }
}

/** A stderr line worth quoting as the cause: not blank, not a stack frame, not node's version footer. */
function meaningful(text: string): string | undefined {
  const t = text.trim();
  if (t === '' || t === '^' || /^at\s/.test(t) || /^Node\.js v\d/.test(t)) return undefined;
  return t.length > 200 ? t.slice(0, 197) + '...' : t;
}

/**
 * glibc tuning for the ranks: keep large freed buffers for reuse instead of handing them back
 * to the kernel after every message. Each received message is a fresh buffer, and a fresh
 * 4 MB mapping costs about a thousand page faults (the 4 MB ping-pong is ~35% faster with
 * this). The user's own settings (launcher environment or --env) win.
 */
function mallocDefaults(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  const defaults = { MALLOC_MMAP_THRESHOLD_: String(32 << 20), MALLOC_TRIM_THRESHOLD_: String(64 << 20) };
  for (const [k, v] of Object.entries(defaults)) if (env[k] === undefined && process.env[k] === undefined) out[k] = v;
  return out;
}
