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
