// --profile[=FILE]: an mpiP-style summary from every rank's totals (exact even when trace
// chunks were dropped). Per call: count over all ranks, total and mean time, its share of the
// ranks' time (the sum over ranks of the time from init to finalize), and the least and most
// time one rank spent in it (load imbalance). Then the point-to-point bytes each rank sent to
// each other: a matrix up to MATRIX_MAX ranks, the top pairs beyond.
import type { TraceCollector } from './trace-collect.js';

export interface ProfileCall {
  call: string;
  count: number;
  totalMs: number;
  meanMs: number;
  /** total time / the ranks' time (0..1) */
  share: number;
  minMs: number;
  minRank: number;
  maxMs: number;
  maxRank: number;
}

export interface Profile {
  ranks: number;
  /** ranks that sent their totals (a rank that died does not) */
  reported: number[];
  /** time from init to finalize per rank, ms (null: not reported) */
  rankMs: Array<number | null>;
  calls: ProfileCall[];
  /** bytes[src][dst], messages[src][dst]: point-to-point only */
  bytes: number[][];
  messages: number[][];
  droppedCalls: number;
}

/** Ranks up to which the bytes are printed as a matrix. */
const MATRIX_MAX = 16;
const TOP_PAIRS = 10;

export function profileOf(col: TraceCollector): Profile {
  const np = col.ranks.length;
  const per = new Map<string, { count: number; ms: number[] }>();
  const bytes = Array.from({ length: np }, () => new Array<number>(np).fill(0));
  const messages = Array.from({ length: np }, () => new Array<number>(np).fill(0));
  const rankMs: Array<number | null> = new Array(np).fill(null);
  const reported: number[] = [];
  for (const r of col.ranks) {
    const t = r.totals;
    if (!t) continue;
    reported.push(r.rank);
    rankMs[r.rank] = t.endMs - t.startMs;
    t.names.forEach((name, i) => {
      if (!t.count[i]) return;
      let p = per.get(name);
      if (!p) per.set(name, (p = { count: 0, ms: new Array<number>(np).fill(0) }));
      p.count += t.count[i]!;
      p.ms[r.rank]! += t.totalMs[i]!;
    });
    for (let d = 0; d < np; d++) {
      bytes[r.rank]![d] = t.sentBytes[d] ?? 0;
      messages[r.rank]![d] = t.sentMsgs[d] ?? 0;
    }
  }
  const rankTotal = rankMs.reduce<number>((s, x) => s + (x ?? 0), 0);
  const calls: ProfileCall[] = [...per].map(([call, p]) => {
    const totalMs = p.ms.reduce((s, x) => s + x, 0);
    let minRank = reported[0] ?? 0;
    let maxRank = minRank;
    for (const r of reported) {
      if (p.ms[r]! < p.ms[minRank]!) minRank = r;
      if (p.ms[r]! > p.ms[maxRank]!) maxRank = r;
    }
    return {
      call, count: p.count, totalMs, meanMs: totalMs / p.count, share: rankTotal > 0 ? totalMs / rankTotal : 0,
      minMs: p.ms[minRank]!, minRank, maxMs: p.ms[maxRank]!, maxRank,
    };
  });
  calls.sort((a, b) => b.totalMs - a.totalMs || a.call.localeCompare(b.call));
  return { ranks: np, reported, rankMs, calls, bytes, messages, droppedCalls: col.dropped().total };
}

const fmtMs = (ms: number): string => (ms >= 100 ? ms.toFixed(0) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3));
const fmtBytes = (b: number): string => (b >= 1 << 30 ? `${(b / (1 << 30)).toFixed(1)}G` : b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)}M` : b >= 1 << 10 ? `${(b / (1 << 10)).toFixed(1)}K` : `${b}`);

function table(rows: string[][], right: boolean[]): string[] {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (right[i] ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ').trimEnd());
}

/** The summary as lines for stderr. */
export function profileLines(p: Profile): string[] {
  const out: string[] = [];
  const times = p.rankMs.filter((x): x is number => x !== null);
  const missing = p.ranks - p.reported.length;
  out.push(
    `orchidrun: profile of ${p.ranks} rank${p.ranks === 1 ? '' : 's'}` +
      (times.length ? ` (time from init to finalize: ${fmtMs(Math.min(...times))} - ${fmtMs(Math.max(...times))} ms per rank)` : '') +
      (missing > 0 ? `; ${missing} rank${missing === 1 ? '' : 's'} sent no totals (ended before finalize?)` : ''),
  );
  const rows = [['call', 'count', 'total ms', 'mean ms', '% time', 'min ms (rank)', 'max ms (rank)']];
  for (const c of p.calls)
    rows.push([c.call, String(c.count), fmtMs(c.totalMs), fmtMs(c.meanMs), `${(c.share * 100).toFixed(1)}%`, `${fmtMs(c.minMs)} (${c.minRank})`, `${fmtMs(c.maxMs)} (${c.maxRank})`]);
  if (p.calls.length === 0) out.push('  (no calls)');
  else out.push(...table(rows, [false, true, true, true, true, true, true]).map((l) => `  ${l}`));
  const pairs: Array<[number, number, number, number]> = [];
  p.bytes.forEach((row, s) => row.forEach((b, d) => p.messages[s]![d]! > 0 && pairs.push([s, d, b, p.messages[s]![d]!])));
  if (pairs.length === 0) out.push('  point-to-point: no messages');
  else if (p.ranks <= MATRIX_MAX) {
    out.push('  point-to-point bytes sent (row: from rank, column: to rank)');
    const idx = Array.from({ length: p.ranks }, (_, i) => i);
    const m = [['', ...idx.map(String)], ...idx.map((s) => [String(s), ...idx.map((d) => (p.messages[s]![d] ? fmtBytes(p.bytes[s]![d]!) : '.'))])];
    out.push(...table(m, m[0]!.map(() => true)).map((l) => `  ${l}`));
  } else {
    pairs.sort((a, b) => b[2] - a[2]);
    out.push(`  point-to-point: the ${Math.min(TOP_PAIRS, pairs.length)} busiest of ${pairs.length} rank pairs`);
    const rows2 = [['from', 'to', 'bytes', 'messages'], ...pairs.slice(0, TOP_PAIRS).map(([s, d, b, n]) => [String(s), String(d), fmtBytes(b), String(n)])];
    out.push(...table(rows2, [true, true, true, true]).map((l) => `  ${l}`));
  }
  return out;
}
