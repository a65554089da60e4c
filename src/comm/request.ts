// Nonblocking operations: a Request wraps the operation's promise and remembers its outcome,
// so test() can answer without blocking and a failure is never an unhandled rejection.
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

/** Wait until one request completes; returns its index and result. */
export async function waitAny(requests: readonly Request<unknown>[]): Promise<{ index: number; value: unknown }> {
  return Promise.race(requests.map((r, index) => r.wait().then((value) => ({ index, value }))));
}
