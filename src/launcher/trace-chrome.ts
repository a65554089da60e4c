// --trace DIR: the ranks' calls as a Chrome Trace Event file (DIR/trace.json; it opens in
// ui.perfetto.dev and chrome://tracing): one process per rank named `rank N @ host`, one
// complete ("X") event per call with its arguments, on as many threads ("lanes") as the rank
// had calls in flight at once (isend/irecv, sendrecv's two halves), and a flow arrow ("s" ->
// "f") from every send to the receive that took it. Matching: per (communicator, source,
// destination, tag) the k-th send started is the k-th receive completed (MPI's messages of
// one pair, communicator and tag never overtake each other).
import { FAILED, RECV, SEND } from '../comm/trace-format.js';
import type { TraceCall, TraceCollector } from './trace-collect.js';

export interface LanedCall extends TraceCall {
  lane: number;
}

/** A rank's calls sorted by start, each on the first lane free at its start. */
export function laneCalls(calls: TraceCall[]): { calls: LanedCall[]; lanes: number } {
  const sorted = calls.map((c, i) => ({ c, i })).sort((a, b) => a.c.t0 - b.c.t0 || a.i - b.i);
  const ends: number[] = [];
  const out: LanedCall[] = [];
  for (const { c } of sorted) {
    let lane = ends.findIndex((e) => e <= c.t0);
    if (lane < 0) {
      lane = ends.length;
      ends.push(0);
    }
    ends[lane] = c.t1;
    out.push({ ...c, lane });
  }
  return { calls: out, lanes: ends.length };
}

export interface Flow {
  src: number;
  dst: number;
  send: LanedCall;
  recv: LanedCall;
}

/** Send -> receive pairs across ranks, and what found no partner. */
export function matchFlows(perRank: LanedCall[][]): { flows: Flow[]; unmatchedSends: number; unmatchedRecvs: number } {
  const sends = new Map<string, LanedCall[]>();
  const recvs = new Map<string, LanedCall[]>();
  const put = (m: Map<string, LanedCall[]>, k: string, c: LanedCall): void => {
    const l = m.get(k);
    if (l) l.push(c);
    else m.set(k, [c]);
  };
  perRank.forEach((calls, r) => {
    for (const c of calls) {
      if (c.flags & FAILED || c.peer < 0) continue;
      if (c.flags & SEND) put(sends, `${c.comm}|${r}|${c.peer}|${c.tag}`, c);
      else if (c.flags & RECV) put(recvs, `${c.comm}|${c.peer}|${r}|${c.tag}`, c);
    }
  });
  const flows: Flow[] = [];
  let unmatchedSends = 0;
  let unmatchedRecvs = 0;
  for (const [k, ss] of sends) {
    const rs = (recvs.get(k) ?? []).slice().sort((a, b) => a.t1 - b.t1);
    ss.sort((a, b) => a.t0 - b.t0);
    const [, src, dst] = k.split('|');
    const n = Math.min(ss.length, rs.length);
    for (let i = 0; i < n; i++) flows.push({ src: Number(src), dst: Number(dst), send: ss[i]!, recv: rs[i]! });
    unmatchedSends += ss.length - n;
    unmatchedRecvs += rs.length - n;
    recvs.delete(k);
  }
  for (const rs of recvs.values()) unmatchedRecvs += rs.length;
  return { flows, unmatchedSends, unmatchedRecvs };
}

const us = (ms: number): number => Math.round(ms * 1000 * 1000) / 1000;

function argsOf(c: TraceCall): Record<string, unknown> {
  const a: Record<string, unknown> = { comm: c.comm };
  if (c.peer >= 0) a[c.flags & SEND ? 'dest' : c.flags & RECV ? 'source' : 'root'] = c.peer;
  if (c.tag >= 0) a.tag = c.tag;
  if (c.bytes >= 0) a.bytes = c.bytes;
  if (c.flags & FAILED) a.failed = true;
  return a;
}

/** Every rank's calls on lanes, and the flows between them. */
export function tracedRanks(col: TraceCollector): { ranks: Array<{ rank: number; host: string; calls: LanedCall[]; lanes: number }>; flows: ReturnType<typeof matchFlows> } {
  const ranks = col.ranks.map((r) => ({ rank: r.rank, host: r.host ?? '?', ...laneCalls(col.callsOf(r.rank)) }));
  return { ranks, flows: matchFlows(ranks.map((r) => r.calls)) };
}

/** The Chrome Trace Event JSON object. */
export function chromeTrace(col: TraceCollector, traced = tracedRanks(col)): Record<string, unknown> {
  const ev: Record<string, unknown>[] = [];
  for (const r of traced.ranks) {
    ev.push({ ph: 'M', name: 'process_name', pid: r.rank, args: { name: `rank ${r.rank} @ ${r.host}` } });
    ev.push({ ph: 'M', name: 'process_sort_index', pid: r.rank, args: { sort_index: r.rank } });
    for (let l = 0; l < Math.max(1, r.lanes); l++)
      ev.push({ ph: 'M', name: 'thread_name', pid: r.rank, tid: l, args: { name: l === 0 ? 'calls' : `calls in flight ${l + 1}` } });
    for (const c of r.calls) ev.push({ ph: 'X', name: c.name, cat: 'orchid', pid: r.rank, tid: c.lane, ts: us(c.t0), dur: us(Math.max(0, c.t1 - c.t0)), args: argsOf(c) });
  }
  traced.flows.flows.forEach((f, id) => {
    ev.push({ ph: 's', name: 'message', cat: 'p2p', id, pid: f.src, tid: f.send.lane, ts: us(f.send.t0) });
    // bound to the enclosing slice: the receive, at the moment it completed
    const at = Math.max(f.recv.t0, f.recv.t1 - Math.min(0.001, (f.recv.t1 - f.recv.t0) / 2));
    ev.push({ ph: 'f', bp: 'e', name: 'message', cat: 'p2p', id, pid: f.dst, tid: f.recv.lane, ts: us(at) });
  });
  const dropped = col.dropped();
  return {
    traceEvents: ev,
    displayTimeUnit: 'ms',
    otherData: {
      tool: 'orchid-mpi orchidrun --trace',
      ranks: col.ranks.length,
      startEpochMs: col.start,
      clocks: col.ranks.map((r) => ({ rank: r.rank, host: r.host, offsetMs: r.clock?.offsetMs, errorMs: r.clock?.errorMs, aligned: r.clock?.aligned ?? false })),
      flows: traced.flows.flows.length,
      unmatchedSends: traced.flows.unmatchedSends,
      unmatchedRecvs: traced.flows.unmatchedRecvs,
      droppedCalls: dropped.total,
      droppedOnRanks: dropped.ranks,
      missingRanks: col.ranks.filter((r) => r.totals === undefined).map((r) => r.rank),
    },
  };
}
