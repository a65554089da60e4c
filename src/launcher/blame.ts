// Why a job failed, in one line: how a rank's exit reads (its uncaught error, the proxy's
// reason, a signal or an exit code) and which rank is blamed. A rank that fails because another
// one is gone (ERR_PEER_LOST, ERR_ABORTED) is a victim: the rank that caused it is named, a
// rank that left early with code 0 at once, else the launcher waits CULPRIT_WAIT_MS for it.
import { constants } from 'node:os';
import type { RankError } from './protocol.js';

/** How long the launcher waits for the rank that caused a victim's failure. */
export const CULPRIT_WAIT_MS = 1000;
const VICTIM_CODES = new Set(['ERR_PEER_LOST', 'ERR_ABORTED']);

/** What the launcher knows of one rank. */
export interface RankState {
  host: string;
  exited: boolean;
  lastErr?: string;
  /** the uncaught error the rank reported before dying */
  error?: RankError;
  /** exit status (for a rank that left early without failing) */
  code?: number | null;
}

/** The job's failure: its exit status, the rank blamed and the summary line. */
export interface Failure {
  code: number;
  failed: { rank: number; host: string; cause: string };
  message: string;
}

/** `OrchidError (ERR_COUNT): allreduce: … (at /path/prog.mjs:12:9)` */
export function describeRankError(e: RankError): string {
  const name = typeof e.name === 'string' && e.name !== '' ? e.name : 'Error';
  const code = e.code !== undefined ? ` (${String(e.code)})` : '';
  const msg = typeof e.message === 'string' && e.message !== '' ? `: ${e.message.length > 300 ? e.message.slice(0, 297) + '...' : e.message}` : '';
  return `${name}${code}${msg}${e.at ? ` (at ${e.at})` : ''}`;
}

const signalStatus = (signal: string): number => 128 + (constants.signals[signal as NodeJS.Signals] ?? 0);

/** The failure of `rank`, which exited (not cleanly) with `code`/`signal`; `error`: the proxy's reason. */
export function rankFailure(ranks: readonly RankState[], rank: number, code: number | null, signal: string | null, error: string | undefined): Failure {
  const st = ranks[rank]!;
  let cause: string;
  let status: number;
  if (st.error) {
    status = code ?? (signal ? signalStatus(signal) : 1);
    cause = `${signal ? `was killed by signal ${signal}` : `exited with code ${code}`} after an uncaught ${describeRankError(st.error)}`;
  } else if (error) {
    cause = error;
    status = code ?? 127;
  } else if (signal) {
    cause = `was killed by signal ${signal}`;
    status = signalStatus(signal);
  } else {
    cause = `exited with code ${code}`;
    status = code ?? 1;
  }
  const hint = st.lastErr && !st.error ? ` (last stderr line: ${JSON.stringify(st.lastErr)})` : '';
  return { code: status, failed: { rank, host: st.host, cause }, message: `rank ${rank} on host ${st.host} ${cause}${hint}` };
}

/** Did `rank` fail only because another rank is gone? */
export function isVictim(st: RankState): boolean {
  return st.error !== undefined && VICTIM_CODES.has(String(st.error.code));
}

/** For a victim's failure: the rank that left early (code 0, no error) and caused it, named first; else undefined. */
export function earlyLeaver(ranks: readonly RankState[], victim: number, failure: Failure): Failure | undefined {
  const early = ranks.findIndex((r, i) => i !== victim && r.exited && r.code === 0 && r.error === undefined);
  if (early < 0) return undefined;
  const e = ranks[early]!;
  const cause = `exited with code 0 while the others still needed it (before finalize(), or without init())`;
  return {
    code: failure.code,
    failed: { rank: early, host: e.host, cause },
    message: `rank ${early} on host ${e.host} ${cause}; rank ${victim} then failed with ${describeRankError(ranks[victim]!.error!)}`,
  };
}
