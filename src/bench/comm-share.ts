// orchid bench --profile: how much of each kernel run its ranks spent in orchid calls. The
// kernel jobs run with the recorder on (ORCHID_TRACE=profile: comm/trace.ts keeps per-call
// totals, nothing is shipped); around every timed repeat each rank takes the recorder's totals,
// and the differences summed over the repeats are its window: wall time, time with an orchid
// call in flight, per-call counts, times and bytes, point-to-point bytes sent. Rank 0 merges
// the ranks' windows into the kernel's KernelProfile (schema.ts).
import { traceModes, traceTotals, type TraceTotals } from '../comm/trace.js';

/** Env for the ranks of a profiled job. */
export const PROFILE_ENV: Readonly<Record<string, string>> = { ORCHID_TRACE: 'profile' };

/** Calls kept per kernel run, the ones that took most time. */
const TOP_CALLS = 5;

/** One rank's sums over a kernel's timed repeats. */
export interface RankWindow {
  rank: number;
  wallMs: number;
  busyMs: number;
  calls: Record<string, { count: number; ms: number; bytes: number }>;
  sentBytes: number;
  sentMsgs: number;
}

export interface KernelCallShare {
  call: string;
  /** calls on all ranks */
  count: number;
  /** time in the call per rank (mean over ranks), ms */
  ms: number;
  /** its time over the wall time, over all ranks (calls in flight at once each count) */
  share: number;
  /** payload bytes where known, all ranks */
  bytes: number;
}

export interface KernelProfile {
  /** wall time of the timed repeats, per rank (mean over ranks), ms */
  wallMs: number;
  /** time with an orchid call in flight / wall time, all ranks together (their sums), and the most and least one rank had */
  share: number;
  maxShare: number;
  maxRank: number;
  minShare: number;
  minRank: number;
  /** the calls that took most time (at most TOP_CALLS) */
  calls: KernelCallShare[];
  /** point-to-point bytes and messages sent by all ranks (collectives' own traffic not counted) */
  sentBytes: number;
  sentMsgs: number;
}

const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);

/** A rank's window over the repeats of one kernel; undefined when the rank is not recorded. */
export class ShareMeter {
  private at: TraceTotals | undefined;
  private readonly w: RankWindow;

  static create(rank: number): ShareMeter | undefined {
    return traceModes ? new ShareMeter(rank) : undefined;
  }

  private constructor(rank: number) {
    this.w = { rank, wallMs: 0, busyMs: 0, calls: {}, sentBytes: 0, sentMsgs: 0 };
  }

  /** A timed repeat starts (no call of this rank in flight). */
  start(): void {
    this.at = traceTotals();
  }

  /** It ended: its differences go into the window. */
  stop(): void {
    const a = this.at;
    if (!a) return;
    const b = traceTotals();
    this.at = undefined;
    this.w.wallMs += b.endMs - a.endMs;
    this.w.busyMs += b.busyMs - a.busyMs;
    this.w.sentBytes += sum(b.sentBytes) - sum(a.sentBytes);
    this.w.sentMsgs += sum(b.sentMsgs) - sum(a.sentMsgs);
    b.names.forEach((name, i) => {
      const count = b.count[i]! - (a.count[i] ?? 0);
      if (count <= 0) return;
      const c = (this.w.calls[name] ??= { count: 0, ms: 0, bytes: 0 });
      c.count += count;
      c.ms += b.totalMs[i]! - (a.totalMs[i] ?? 0);
      c.bytes += b.bytes[i]! - (a.bytes[i] ?? 0);
    });
  }

  window(): RankWindow {
    return this.w;
  }
}

/** Every rank's window (rank 0 gathered them) as the kernel run's profile. */
export function mergeWindows(ws: RankWindow[]): KernelProfile {
  const shares = ws.map((w) => ({ rank: w.rank, share: w.wallMs > 0 ? Math.min(1, w.busyMs / w.wallMs) : 0 }));
  const most = shares.reduce((a, b) => (b.share > a.share ? b : a));
  const least = shares.reduce((a, b) => (b.share < a.share ? b : a));
  const wall = sum(ws.map((w) => w.wallMs));
  const byCall = new Map<string, { count: number; ms: number; bytes: number }>();
  for (const w of ws) {
    for (const [name, c] of Object.entries(w.calls)) {
      const t = byCall.get(name) ?? { count: 0, ms: 0, bytes: 0 };
      byCall.set(name, { count: t.count + c.count, ms: t.ms + c.ms, bytes: t.bytes + c.bytes });
    }
  }
  const calls = [...byCall]
    .map(([call, c]) => ({ call, count: c.count, ms: c.ms / ws.length, share: wall > 0 ? c.ms / wall : 0, bytes: c.bytes }))
    .sort((a, b) => b.ms - a.ms || a.call.localeCompare(b.call))
    .slice(0, TOP_CALLS);
  return {
    wallMs: wall / ws.length,
    share: wall > 0 ? Math.min(1, sum(ws.map((w) => w.busyMs)) / wall) : 0,
    maxShare: most.share,
    maxRank: most.rank,
    minShare: least.share,
    minRank: least.rank,
    calls,
    sentBytes: sum(ws.map((w) => w.sentBytes)),
    sentMsgs: sum(ws.map((w) => w.sentMsgs)),
  };
}
