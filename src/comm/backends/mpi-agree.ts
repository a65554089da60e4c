// The agreement step of the mpi backend: before the MPI calls of a collective, one
// MPI_Allreduce (MAX over 5 doubles) compares what every rank called (the signature of
// collectives/signature.ts), the typed-array length of a reduction, and whether a local
// check failed. MPI matches collectives by order alone, so without it calls that differ
// across ranks give undefined results or hang; with it every rank fails the same way before
// anything else is posted. Measured at ~2-4 µs per call (README, "Collectives that must
// agree"); ORCHID_CHECK=0 turns it off (then mismatched calls are undefined, as in MPI).
import { errorFromName, errorNameOf, errorNumber, OrchidError } from '../../errors.js';
import { OP } from '../../codec/abi.js';
import { mismatch } from '../collectives/signature.js';
import { F64, type MpiColl } from './mpi-coll.js';

/** ORCHID_CHECK=0: no agreement step (each rank trusts that the others made the same call). */
export { CHECK } from '../collectives/signature.js';

/** a rank number fits below this; signature * R + rank stays an exact double (2^32 * 2^21 = 2^53) */
const R = 2 ** 21;
const WORDS = 5;

export function remoteError(call: string, code: number, from: number, me: number): Error {
  const name = errorNameOf(code);
  return errorFromName(name, `${call}: rank ${from} failed (${name}), so the collective fails on rank ${me} too`);
}

/** Run a local check; its error, if any. */
export function tryCheck(check: () => void): unknown {
  try {
    check();
    return undefined;
  } catch (e) {
    return e ?? new Error('check failed');
  }
}

/**
 * Agree on the call: throws on every rank when any rank's check failed (that rank's error
 * there, one naming it elsewhere), when the signatures differ (ERR_COLLECTIVE naming two of
 * the calls), or, with `len` >= 0, when the typed-array lengths differ (ERR_COUNT).
 */
export async function agree(c: MpiColl, call: string, sig: number, err: unknown, len = -1, seq?: number): Promise<void> {
  const me = c.rank;
  const w = new Float64Array(WORDS);
  w[0] = sig * R + me;
  w[1] = -sig * R + me;
  w[2] = len;
  w[3] = -len;
  w[4] = err === undefined ? 0 : -errorNumber(err) * R + me;
  const g = new Float64Array(WORDS);
  await c.coll('allreduce', w, g, WORDS, F64, OP.max);
  if (err !== undefined) throw err;
  if (g[4]! > 0) {
    const code = Math.floor(g[4]! / R);
    throw remoteError(call, -code, g[4]! - code * R, me);
  }
  const hi = Math.floor(g[0]! / R);
  const lo = -Math.floor(g[1]! / R);
  if (hi !== lo) {
    const [theirs, them] = sig !== hi ? [hi, g[0]! - hi * R] : [lo, g[1]! + lo * R];
    throw mismatch(call, sig, me, theirs, them, seq);
  }
  if (g[2] !== -g[3]!)
    throw new OrchidError('ERR_COUNT', `${call}: the typed arrays differ in length across ranks (${-g[3]!} … ${g[2]} elements; rank ${me} has ${len})`);
}
