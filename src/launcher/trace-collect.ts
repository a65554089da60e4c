// The launcher's side of --trace / --profile / --live: what each rank reported over the
// coordinator (trace chunks, its totals at the end, its live state), kept per rank. Calls are
// turned into the launcher's time base here: a rank's performance.now() + its timeOrigin + its
// clock offset (measured at init) = the launcher's epoch ms. Memory is bounded: past
// maxCalls calls in all, further chunks are counted as dropped.
import {
  F_BYTES, F_CALL, F_COMM, F_FLAGS, F_PEER, F_T0, F_T1, F_TAG, FIELDS, type TraceComm,
} from '../comm/trace-format.js';
import type { TraceTotals } from '../comm/trace.js';

export interface ClockInfo {
  offsetMs: number;
  errorMs: number;
  aligned: boolean;
}

/** One call, in the launcher's time (ms since the job started). */
export interface TraceCall {
  name: string;
  t0: number;
  t1: number;
  peer: number;
  tag: number;
  bytes: number;
  comm: string;
  flags: number;
}

export interface LiveState {
  calls: Array<{ call: string; ms: number }>;
  pending: string;
  sentMsgs: number;
  sentBytes: number;
  recvMsgs: number;
  recvBytes: number;
  /** launcher ms when it came */
  gotAt: number;
  /** messages and bytes per second (sent + received) since the previous state */
  msgRate: number;
  byteRate: number;
}

export interface RankTrace {
  rank: number;
  host?: string;
  origin?: number;
  clock?: ClockInfo;
  names: string[];
  comms: TraceComm[];
  chunks: Float64Array[];
  calls: number;
  /** calls dropped by the launcher (over its bound) */
  droppedHere: number;
  totals?: TraceTotals;
  live?: LiveState;
}

/** Calls kept in all, across ranks (ORCHID_TRACE_MAX_CALLS): ~64 bytes each. */
const MAX_CALLS = Number(process.env.ORCHID_TRACE_MAX_CALLS) > 0 ? Number(process.env.ORCHID_TRACE_MAX_CALLS) : 4_000_000;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export class TraceCollector {
  readonly ranks: RankTrace[];
  private kept = 0;

  constructor(
    np: number,
    /** the launcher's epoch ms at which the job's time 0 is */
    readonly start: number,
    private readonly maxCalls = MAX_CALLS,
  ) {
    this.ranks = Array.from({ length: np }, (_, rank) => ({ rank, names: [], comms: [], chunks: [], calls: 0, droppedHere: 0 }));
  }

  /** A trace, trace-end or live line from `rank`. Malformed lines are ignored. */
  report(rank: number, msg: Record<string, unknown>, now: number): void {
    const r = this.ranks[rank];
    if (!r) return;
    r.host = str(msg.host) ?? r.host;
    if (typeof msg.origin === 'number') r.origin = msg.origin;
    if (msg.clock && typeof msg.clock === 'object') r.clock = msg.clock as ClockInfo;
    if (msg.t === 'trace') {
      if (Array.isArray(msg.names)) r.names.push(...msg.names.map(String));
      if (Array.isArray(msg.comms)) r.comms.push(...(msg.comms as TraceComm[]));
      if (typeof msg.calls !== 'string') return;
      const raw = Buffer.from(msg.calls, 'base64');
      const calls = new Float64Array(new Uint8Array(raw).buffer, 0, Math.floor(raw.length / 8));
      const n = calls.length / FIELDS;
      if (this.kept + n > this.maxCalls) {
        r.droppedHere += n;
        return;
      }
      this.kept += n;
      r.chunks.push(calls);
      r.calls += n;
    } else if (msg.t === 'trace-end') {
      if (msg.totals && typeof msg.totals === 'object') r.totals = msg.totals as TraceTotals;
    } else if (msg.t === 'live') {
      const prev = r.live;
      const m = msg as unknown as LiveState;
      const moved = (x: LiveState | undefined): [number, number] => (x ? [x.sentMsgs + x.recvMsgs, x.sentBytes + x.recvBytes] : [0, 0]);
      const [pm, pb] = moved(prev);
      const [cm, cb] = moved(m);
      const dt = prev ? (now - prev.gotAt) / 1000 : 0;
      r.live = {
        calls: Array.isArray(m.calls) ? m.calls : [],
        pending: str(m.pending) ?? '',
        sentMsgs: Number(m.sentMsgs) || 0,
        sentBytes: Number(m.sentBytes) || 0,
        recvMsgs: Number(m.recvMsgs) || 0,
        recvBytes: Number(m.recvBytes) || 0,
        gotAt: now,
        msgRate: dt > 0 ? (cm - pm) / dt : 0,
        byteRate: dt > 0 ? (cb - pb) / dt : 0,
      };
    }
  }

  /** Calls dropped in all: by the ranks (their sink refused) and here. */
  dropped(): { total: number; ranks: number[] } {
    let total = 0;
    const ranks: number[] = [];
    for (const r of this.ranks) {
      const d = (r.totals?.dropped ?? 0) + r.droppedHere;
      if (d > 0) {
        total += d;
        ranks.push(r.rank);
      }
    }
    return { total, ranks };
  }

  /** `rank`'s calls in the launcher's time, in the order recorded. */
  callsOf(rank: number): TraceCall[] {
    const r = this.ranks[rank]!;
    const shift = (r.origin ?? this.start) + (r.clock?.offsetMs ?? 0) - this.start;
    const out: TraceCall[] = [];
    for (const c of r.chunks) {
      for (let o = 0; o + FIELDS <= c.length; o += FIELDS) {
        out.push({
          name: r.names[c[o + F_CALL]!] ?? '?',
          t0: c[o + F_T0]! + shift,
          t1: c[o + F_T1]! + shift,
          peer: c[o + F_PEER]!,
          tag: c[o + F_TAG]!,
          bytes: c[o + F_BYTES]!,
          comm: r.comms[c[o + F_COMM]!]?.id ?? '?',
          flags: c[o + F_FLAGS]!,
        });
      }
    }
    return out;
  }
}
