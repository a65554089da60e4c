// What a traced rank (ORCHID_TRACE, set by orchidrun --trace / --profile / --live) sends to
// the launcher over its coordinator connection: full chunks of recorded calls as they fill
// (comm/trace.ts), the live state every LIVE_MS with --live, and at finalize (or when the
// program ends without it) the last chunk with the totals, this rank's host and its clock
// alignment. Lines on the wire (coord-proto.ts): trace, live, trace-end.
import { performance } from 'node:perf_hooks';
import { describePending, pendingCalls } from '../comm/pending.js';
import { setTraceSink, takeTraceChunk, traceCounters, traceModes, traceTotals, type TraceChunk } from '../comm/trace.js';
import { FIELDS } from '../comm/trace-format.js';
import type { CoordClient } from './coord-client.js';
import { clockAlignment } from './clock.js';

/** How often a rank sends its live state with --live (ORCHID_LIVE_MS). */
const LIVE_MS = Math.max(50, Number(process.env.ORCHID_LIVE_MS) || 250);

let client: CoordClient | undefined;
let me = -1;
let host = '';
let ended: Promise<void> | undefined;
let liveTimer: NodeJS.Timeout | undefined;

function chunkMsg(c: TraceChunk): Record<string, unknown> {
  const bytes = Buffer.from(c.calls.buffer, c.calls.byteOffset, c.calls.byteLength);
  return { t: 'trace', rank: me, host, origin: performance.timeOrigin, clock: clockAlignment(), names: c.names, comms: c.comms, calls: bytes.toString('base64') };
}

/** Ship this rank's trace over `coord` (no-op when the rank is not traced). */
export function attachTrace(coord: CoordClient, rank: number, hostname: string): void {
  if (!traceModes) return;
  client = coord;
  me = rank;
  host = hostname;
  setTraceSink((c) => coord.post(chunkMsg(c)));
  if (traceModes.live) {
    const live = (): void => {
      coord.post({ t: 'live', rank: me, host, calls: pendingCalls(), pending: describePending(), ...traceCounters(), at: Date.now() });
    };
    live();
    liveTimer = setInterval(live, LIVE_MS);
    liveTimer.unref();
  }
  // a program that ends without finalize(): ship before the event loop is over
  process.once('beforeExit', () => void endTrace());
}

/** The last chunk and the totals, once; resolves when they are written. */
export function endTrace(): Promise<void> {
  if (!client) return Promise.resolve();
  ended ??= (async () => {
    if (liveTimer) clearInterval(liveTimer);
    const c = client!;
    const last = takeTraceChunk();
    const totals = traceTotals();
    // refused (the connection is gone or far behind): counted as dropped
    if (last && last.calls.length > 0 && !c.post(chunkMsg(last))) totals.dropped += last.calls.length / FIELDS;
    c.post({ t: 'trace-end', rank: me, host, origin: performance.timeOrigin, clock: clockAlignment(), totals });
    await c.flush();
  })();
  return ended;
}
