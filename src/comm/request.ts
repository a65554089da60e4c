// Nonblocking operations: a Request wraps the operation's promise and remembers its outcome,
// so test() can answer without blocking and a failure is never an unhandled rejection.
import { OrchidError } from '../errors.js';

export class Request<T> {
  private state: 0 | 1 | 2 = 0; // pending | done | failed
  private value: T | undefined;
  private error: unknown;
  private readonly promise: Promise<T>;

  constructor(promise: Promise<T>) {
    this.promise = promise;
    promise.then(
      (v) => {
        this.state = 1;
        this.value = v;
      },
      (e) => {
        this.state = 2;
        this.error = e;
      },
    );
  }

  /** Resolves with the operation's result (a Message for irecv), rejects with its error. */
  wait(): Promise<T> {
    return this.promise;
  }

  /** The result if the operation has completed, else undefined; throws if it failed. Never blocks. */
  test(): T | undefined {
    if (this.state === 2) throw this.error;
    return this.value;
  }

  /** Whether the operation has completed (successfully or not). */
  get done(): boolean {
    return this.state !== 0;
  }
}

/** Wait for every request; results in the same order. Rejects with the first failure. */
export function waitAll<T extends readonly Request<unknown>[]>(requests: T): Promise<{ [K in keyof T]: T[K] extends Request<infer R> ? R : never }> {
  return Promise.all(requests.map((r) => r.wait())) as never;
}

/** The result type of a Request (a union over a list of them). */
export type RequestValue<R> = R extends Request<infer V> ? V : never;

/**
 * Wait until one request completes; returns its index and result (typed by the requests':
 * a union when they differ). An empty list rejects with ERR_ARG (nothing could ever complete;
 * mpi4py's Waitany returns MPI_UNDEFINED there).
 */
export async function waitAny<R extends readonly Request<unknown>[]>(requests: R): Promise<{ index: number; value: RequestValue<R[number]> }> {
  const list: readonly Request<unknown>[] = requests;
  if (!Array.isArray(requests) || list.length === 0)
    throw new OrchidError('ERR_ARG', `waitAny: no requests to wait for (got ${Array.isArray(requests) ? 'an empty Array' : typeof requests}); an empty list would never settle`);
  return Promise.race(list.map((r, index) => r.wait().then((value) => ({ index, value: value as RequestValue<R[number]> }))));
}

/** The results of a list of requests, by position (a tuple for a tuple). */
type Values<T extends readonly Request<unknown>[]> = { [K in keyof T]: T[K] extends Request<infer R> ? R : never };

function list(call: string, requests: unknown, allowEmpty: boolean): readonly Request<unknown>[] {
  if (!Array.isArray(requests) || requests.some((r) => !(r instanceof Request)))
    throw new TypeError(`${call}: expected an Array of Requests, got ${Array.isArray(requests) ? 'an Array with something else in it' : typeof requests}`);
  if (!allowEmpty && requests.length === 0)
    throw new OrchidError('ERR_ARG', `${call}: no requests to test or wait for (an empty Array); nothing in it could ever complete`);
  return requests as readonly Request<unknown>[];
}

/**
 * Every result, in order, once all requests have completed; undefined while any is pending.
 * Never blocks. Throws the error of a request that failed (the first in the list), as soon as
 * one has, like waitAll rejects at the first failure. An empty list is complete: [].
 */
export function testAll<T extends readonly Request<unknown>[]>(requests: T): Values<T> | undefined {
  const rs = list('testAll', requests, true);
  const out: unknown[] = [];
  let all = true;
  for (const r of rs) {
    if (!r.done) all = false;
    else out.push(r.test()); // throws if it failed
  }
  return all ? (out as Values<T>) : undefined;
}

/**
 * The first completed request in the list (lowest index) and its result; undefined while none
 * has. Never blocks. Throws that request's error if it failed. An empty list is ERR_ARG.
 */
export function testAny<R extends readonly Request<unknown>[]>(requests: R): { index: number; value: RequestValue<R[number]> } | undefined {
  const rs = list('testAny', requests, false);
  const index = rs.findIndex((r) => r.done);
  return index < 0 ? undefined : { index, value: rs[index]!.test() as RequestValue<R[number]> };
}

/**
 * Waits until at least one request has completed, then resolves with every completed one:
 * their indices (ascending) and results. Requests stay completed, so a loop drops the ones it
 * got before it waits again. Rejects with the error of one that failed; an empty list is ERR_ARG.
 */
export async function waitSome<R extends readonly Request<unknown>[]>(requests: R): Promise<{ indices: number[]; values: RequestValue<R[number]>[] }> {
  const rs = list('waitSome', requests, false);
  if (!rs.some((r) => r.done)) await Promise.race(rs.map((r) => r.wait()));
  const indices: number[] = [];
  const values: RequestValue<R[number]>[] = [];
  rs.forEach((r, i) => {
    if (!r.done) return;
    indices.push(i);
    values.push(r.test() as RequestValue<R[number]>);
  });
  return { indices, values };
}
