// The task pool's wire protocol, shared by rank 0 (scheduler.ts) and the workers (server.ts):
// the tags on the pool's own communicator (a dup() of the one Pool.start got), what a batch
// and its results look like, and how a task's exception travels (TaskError).
import { encode } from '../codec/index.js';

/** rank 0 -> worker: one batch of items, `[batch id, items]` */
export const TAG_TASK = 1;
/** worker -> rank 0: the batch's results, `[batch id, results]` */
export const TAG_RESULT = 2;
/** rank 0 -> worker: no more tasks; the worker's Pool.start resolves null */
export const TAG_STOP = 3;

export type TaskMessage = [batch: number, items: unknown[]];
/** One result per item of the batch, in order: `[1, value]` or `[0, the error]`. */
export type TaskResult = [ok: 1, value: unknown] | [ok: 0, error: WireError];
export type ResultMessage = [batch: number, results: TaskResult[]];

/** A task's exception as it travels. */
export interface WireError {
  name: string;
  message: string;
  stack?: string;
  code?: string;
}

/** What every rank reports at Pool.start: whether it could load the task module. */
export interface LoadStatus {
  host: string;
  /** set when this rank cannot serve: the error's kind and message */
  error?: { kind: 'TypeError' | 'ERR_ARG'; message: string };
}

/**
 * A task's exception, on rank 0: `name`, `stack` and `code` are the original error's, the
 * message is the original one followed by where it ran; `rank` and `host` say where.
 */
export class TaskError extends Error {
  /** the rank (of the communicator given to Pool.start) that ran the task */
  readonly rank: number;
  readonly host: string;
  /** the task's index in its map() (its submission number for submit()) */
  readonly index: number;
  /** the original error's `code`, if it had one (e.g. 'ENOENT', an OrchidError's code) */
  readonly code?: string;
  /** the original message, without the place */
  readonly taskMessage: string;

  constructor(e: WireError, where: { rank: number; host: string; index: number }) {
    super(`${e.message} (pool task ${where.index} on rank ${where.rank}, host ${where.host})`);
    this.name = e.name;
    this.rank = where.rank;
    this.host = where.host;
    this.index = where.index;
    this.taskMessage = e.message;
    if (e.code !== undefined) this.code = e.code;
    const remote = e.stack && e.stack.includes('\n') ? e.stack.slice(e.stack.indexOf('\n')) : '';
    this.stack = `${this.name}: ${this.message}${remote}`;
  }
}

/** Any thrown value as a WireError (a non-Error is named 'Error' with its String()). */
export function toWire(e: unknown): WireError {
  if (e instanceof Error) {
    const w: WireError = { name: e.name || 'Error', message: e.message };
    if (typeof e.stack === 'string') w.stack = e.stack;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') w.code = String(code);
    return w;
  }
  return { name: 'Error', message: `a task threw a non-Error value: ${String(e)}` };
}

/**
 * After a message of `values` could not be encoded: the index and TypeError of each value that
 * cannot be sent (a function, a symbol …), found by encoding each one alone under `call`.
 */
export function unencodable(values: readonly unknown[], call: (i: number) => string): Map<number, TypeError> {
  const bad = new Map<number, TypeError>();
  values.forEach((v, i) => {
    try {
      encode(v, call(i));
    } catch (e) {
      bad.set(i, e instanceof TypeError ? e : new TypeError(`${call(i)}: ${String(e)}`));
    }
  });
  return bad;
}
