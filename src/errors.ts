// OrchidError: every failure the runtime reports carries a stable `code` (DESIGN.md).
export type ErrorCode =
  | 'ERR_RANK'
  | 'ERR_TAG'
  | 'ERR_ROOT'
  | 'ERR_COUNT'
  | 'ERR_PEER_LOST'
  | 'ERR_ABORTED'
  | 'ERR_TIMEOUT'
  | 'ERR_TRANSPORT'
  | 'ERR_AUTH'
  | 'ERR_FINALIZED'
  | 'ERR_ARG';

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
