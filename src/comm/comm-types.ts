// The plain shapes of the Comm API: a received message, a probe's status, the runtime every
// communicator of a process shares, scatter's options (re-exported by comm.ts).
import type { OrchidError } from '../errors.js';
import type { Comm } from './comm.js';

export interface Message<T = unknown> {
  data: T;
  source: number;
  tag: number;
}

export interface Status {
  source: number;
  tag: number;
  bytes: number;
}

/** What every communicator of one process shares, whatever the transport (src/rank/runtime.ts). */
export interface Runtime {
  /** the world communicator (finalize synchronises on it) */
  world?: Comm;
  /** set once finalize() or abort() ran: every call then fails with this */
  ended?: OrchidError;
  /** starts ending the job; returns the error the caller throws (abort() does not return) */
  abort(code: number, message: string): OrchidError;
  finalize(): Promise<void>;
}

export interface ScatterOptions {
  /** elements per rank when the root passes one typed array */
  counts?: readonly number[];
}
