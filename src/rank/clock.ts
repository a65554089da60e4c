// This rank's clock, aligned to orchidrun's: at init the rank pings the launcher's
// coordinator a few times over its connection (NTP's way: the exchange with the shortest round
// trip, offset = launcher time - midpoint of the exchange, error <= half that round trip).
// wtime() (exported from 'orchid-mpi') is then seconds on the launcher's clock, the same
// time base on every host; wtick() is the residual error of that alignment.
import { performance } from 'node:perf_hooks';

/** performance.now()'s resolution in ms (Node rounds to microseconds at best). */
const RESOLUTION_MS = 0.001;
/** Pings per alignment. */
export const CLOCK_PINGS = 10;

let offsetMs = 0;
let errorMs = RESOLUTION_MS;
let aligned = false;
let last = 0;

/** ms since the epoch on this host's clock, with performance.now()'s resolution and monotony. */
export function localEpochMs(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Seconds on the launcher's clock (epoch based), monotonic. Before init() has aligned the
 * clock (and in a program not started by orchidrun) it is this host's clock. It never goes
 * back: when the alignment moved the clock back, wtime() holds still until it catches up.
 */
export function wtime(): number {
  const t = (performance.timeOrigin + performance.now() + offsetMs) / 1000;
  if (t < last) return last;
  last = t;
  return t;
}

/**
 * The error bound of wtime() across hosts, in seconds: half the round trip of the best
 * alignment ping (at least the clock's resolution, 1 µs). Without an alignment, the
 * resolution.
 */
export function wtick(): number {
  return Math.max(errorMs, RESOLUTION_MS) / 1000;
}

/** The alignment in use: ms to add to this host's clock, and its error bound. */
export function clockAlignment(): { offsetMs: number; errorMs: number; aligned: boolean } {
  return { offsetMs, errorMs, aligned };
}

/**
 * Align to the clock behind `ping` (which resolves with that clock's epoch ms when it
 * answered): CLOCK_PINGS exchanges, the one with the shortest round trip wins.
 */
export async function alignClock(ping: () => Promise<number>, pings = CLOCK_PINGS): Promise<void> {
  let best = Infinity;
  let off = 0;
  for (let i = 0; i < pings; i++) {
    const t0 = localEpochMs();
    let remote: number;
    try {
      remote = await ping();
    } catch {
      break; // an unanswered ping: align with what came back, if anything
    }
    const t1 = localEpochMs();
    if (t1 - t0 < best) {
      best = t1 - t0;
      off = remote - (t0 + t1) / 2;
    }
  }
  if (!Number.isFinite(best) || !Number.isFinite(off)) return;
  offsetMs = off;
  errorMs = best / 2;
  aligned = true;
}
