// OrchidError: every failure the runtime reports carries a stable `code` (README.md, "Errors").
export const ERROR_CODES = [
  'ERR_RANK',
  'ERR_TAG',
  'ERR_ROOT',
  'ERR_COUNT',
  'ERR_PEER_LOST',
  'ERR_ABORTED',
  'ERR_TIMEOUT',
  'ERR_TRANSPORT',
  'ERR_AUTH',
  'ERR_FINALIZED',
  'ERR_ARG',
  'ERR_COLLECTIVE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class OrchidError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OrchidError';
    this.code = code;
  }
}

/** True when `e` is an OrchidError, also one created by another copy of the module. */
export function isOrchidError(e: unknown): e is OrchidError {
  return e instanceof Error && e.name === 'OrchidError' && typeof (e as OrchidError).code === 'string';
}

// ---- errors that cross ranks ----
// A collective that fails on one rank fails on every member: the failing rank sends what kind
// of error it was (its name), the others rebuild one of that kind with their own message.

/** The names an error travels by: 'Error', 'TypeError' and the codes; index + 1 is its number. */
const REMOTE_NAMES: readonly string[] = ['Error', 'TypeError', ...ERROR_CODES];

/** An error's name on the wire: 'TypeError', an OrchidError's code, else 'Error'. */
export function errorName(e: unknown): string {
  if (e instanceof TypeError) return 'TypeError';
  return isOrchidError(e) ? e.code : 'Error';
}

/** The error another rank reported by `name`: a TypeError, an OrchidError of that code, else ERR_TRANSPORT. */
export function errorFromName(name: unknown, message: string): Error {
  if (name === 'TypeError') return new TypeError(message);
  const code = (ERROR_CODES as readonly unknown[]).includes(name) ? (name as ErrorCode) : 'ERR_TRANSPORT';
  return new OrchidError(code, message);
}

/** An error's name as a negative number, for a step that carries an int32 where a size would be. */
export function errorNumber(e: unknown): number {
  return -(1 + Math.max(0, REMOTE_NAMES.indexOf(errorName(e))));
}

/** The name behind errorNumber()'s number (a negative int32). */
export function errorNameOf(n: number): string {
  return REMOTE_NAMES[-n - 1] ?? 'Error';
}
