// See inside a job: orchidrun --trace DIR, --profile[=FILE], --live[=PORT]. Tells the ranks
// what to record (ORCHID_TRACE), takes their reports from the coordinator, serves the live
// page while the job runs, and at the end writes DIR/trace.json + DIR/timeline.html, the
// profile (stderr; FILE as JSON) and a note about ranks or calls missing from them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { OrchidError } from '../errors.js';
import type { Coordinator } from './coordinator.js';
import { LiveServer, liveRows } from './live.js';
import { chromeTrace, tracedRanks } from './trace-chrome.js';
import { TraceCollector } from './trace-collect.js';
import { profileLines, profileOf } from './trace-profile.js';
import { timelineHtml } from './timeline-html.js';

export interface SeeInsideOptions {
  /** --trace DIR: DIR/trace.json (Chrome Trace Event format) and DIR/timeline.html */
  trace?: string;
  /** --profile: the summary on stderr at exit; a string: also as JSON into that file */
  profile?: boolean | string;
  /** --live: serve the live page; a number: on that port (default: any free port) */
  live?: boolean | number;
}

const epochNow = (): number => performance.timeOrigin + performance.now();

export class SeeInside {
  readonly collector: TraceCollector;
  private live: LiveServer | undefined;
  private readonly ended = new Set<number>();
  private done = false;
  private readonly traceDir: string | undefined;
  private readonly profileFile: string | undefined;

  /** undefined when no option asks for anything */
  static from(o: SeeInsideOptions, np: number, script: string): SeeInside | undefined {
    if (o.trace === undefined && !o.profile && (o.live === undefined || o.live === false)) return undefined;
    return new SeeInside(o, np, script);
  }

  private constructor(
    private readonly o: SeeInsideOptions,
    np: number,
    private readonly script: string,
  ) {
    if (o.trace !== undefined) {
      if (o.trace === '') throw new OrchidError('ERR_ARG', '--trace needs a directory');
      this.traceDir = resolve(o.trace);
      try {
        mkdirSync(this.traceDir, { recursive: true });
      } catch (e) {
        throw new OrchidError('ERR_ARG', `--trace ${o.trace}: cannot create the directory: ${(e as Error).message}`);
      }
    }
    if (typeof o.profile === 'string') {
      if (o.profile === '') throw new OrchidError('ERR_ARG', '--profile= needs a file name');
      this.profileFile = resolve(o.profile);
    }
    if (typeof o.live === 'number' && !(Number.isInteger(o.live) && o.live >= 0 && o.live <= 65535))
      throw new OrchidError('ERR_ARG', `--live=${o.live}: not a port number (0-65535)`);
    this.collector = new TraceCollector(np, epochNow());
  }

  /** The ranks' ORCHID_TRACE. */
  rankEnv(): Record<string, string> {
    const modes = [this.traceDir !== undefined ? 'events' : '', this.o.profile || this.traceDir !== undefined ? 'profile' : '', this.o.live ? 'live' : ''].filter(Boolean);
    return { ORCHID_TRACE: modes.join(',') };
  }

  /** Take the ranks' reports from `coord`. */
  attach(coord: Coordinator): void {
    coord.on('report', (rank, msg) => this.collector.report(rank, msg, epochNow()));
  }

  /** A rank's process ended (the live page says so). */
  rankEnded(rank: number): void {
    this.ended.add(rank);
  }

  /**
   * Resolves once each of `ranks` has sent its totals, or after `ms`: a rank's last lines on
   * the coordinator connection may be read after its proxy reported it gone.
   */
  settle(ranks: number[], ms: number): Promise<void> {
    const left = (): boolean => ranks.some((r) => this.collector.ranks[r]?.totals === undefined);
    if (!left()) return Promise.resolve();
    const until = epochNow() + ms;
    return new Promise((resolve) => {
      const poll = (): void => {
        if (!left() || epochNow() >= until) resolve();
        else setTimeout(poll, 10);
      };
      poll();
    });
  }

  /** Start the live page (with --live); resolves with the lines to print (its URL). */
  async start(): Promise<string[]> {
    if (!this.o.live) return [];
    const t0 = epochNow();
    this.live = new LiveServer(`orchidrun: ${basename(this.script)} (${this.collector.ranks.length} ranks)`, () => {
      const now = epochNow();
      return { rows: liveRows(this.collector, now, (r) => this.ended.has(r)), elapsedMs: now - t0, done: this.done };
    });
    const url = await this.live.start(typeof this.o.live === 'number' ? this.o.live : 0);
    return [`orchidrun: live view of the job at ${url}`];
  }

  /** The job is over: write what was asked for; returns the lines for stderr. */
  finish(): string[] {
    if (this.done) return [];
    this.done = true;
    this.live?.close();
    const out: string[] = [];
    const col = this.collector;
    const missing = col.ranks.filter((r) => r.totals === undefined).map((r) => r.rank);
    const dropped = col.dropped();
    const notes: string[] = [];
    if (missing.length > 0) notes.push(`rank${missing.length === 1 ? '' : 's'} ${missing.join(', ')} sent no totals (ended before finalize, or killed): their part is incomplete`);
    if (dropped.total > 0) notes.push(`${dropped.total} calls were dropped (memory bound; ranks ${dropped.ranks.join(', ')}): the timeline misses them, the profile's counts and times do not`);
    const errs = col.ranks.filter((r) => r.clock?.aligned).map((r) => r.clock!.errorMs);
    if (errs.length > 0) notes.push(`clocks aligned to the launcher's within ${Math.max(...errs).toFixed(3)} ms (worst rank)`);
    const profile = profileOf(col);
    if (this.o.profile) {
      out.push(...profileLines(profile));
      if (this.profileFile) {
        try {
          writeFileSync(this.profileFile, JSON.stringify({ ...profile, notes }, null, 1) + '\n');
          out.push(`orchidrun: profile written to ${this.profileFile}`);
        } catch (e) {
          out.push(`orchidrun: cannot write the profile to ${this.profileFile}: ${(e as Error).message}`);
        }
      }
    }
    if (this.traceDir !== undefined) {
      const traced = tracedRanks(col);
      try {
        writeFileSync(join(this.traceDir, 'trace.json'), JSON.stringify(chromeTrace(col, traced)) + '\n');
        const title = `orchidrun ${basename(this.script)}: ${col.ranks.length} ranks, ${traced.ranks.reduce((s, r) => s + r.calls.length, 0)} calls, ${traced.flows.flows.length} messages`;
        writeFileSync(join(this.traceDir, 'timeline.html'), timelineHtml({ title, ranks: traced.ranks, flows: traced.flows.flows, profile, notes }));
        out.push(`orchidrun: trace written to ${join(this.traceDir, 'trace.json')} (ui.perfetto.dev, chrome://tracing) and ${join(this.traceDir, 'timeline.html')}`);
      } catch (e) {
        out.push(`orchidrun: cannot write the trace to ${this.traceDir}: ${(e as Error).message}`);
      }
    }
    for (const n of notes) if (!n.startsWith('clocks') || this.traceDir !== undefined) out.push(`orchidrun: note: ${n}`);
    return out;
  }
}
