// orchid-mpi/pool: a task pool over a communicator, as mpi4py.futures' MPIPoolExecutor
// (README.md, "Task pool"). Pool.start() is collective: on rank 0 it resolves to the Pool
// (scheduler.ts), every other rank serves tasks (server.ts) until rank 0 closes the pool and
// then resolves null. The task function is imported by name on every rank that runs tasks
// (task-module.ts); items and values travel as orchid values (protocol.ts).
import { Comm } from '../comm/comm.js';
import { OrchidError } from '../errors.js';
import { mapResults, type MapResult } from './map.js';
import { checkCloseOptions, checkItems, checkMapOptions, checkStartOptions, type CloseOptions, type MapOptions, type PoolOptions, type StartSpec } from './options.js';
import type { LoadStatus } from './protocol.js';
import { Scheduler, type Outcome } from './scheduler.js';
import { serve } from './server.js';
import { loadTask, type TaskFn } from './task-module.js';

export { TaskError } from './protocol.js';
export type { MapResult } from './map.js';
export type { CloseOptions, MapOptions, PoolOptions } from './options.js';

/** The ranks in `bad`, for a message: `2 (host node1)`, `… and 3 more`. */
function describeFailures(bad: [number, LoadStatus][]): string {
  const [, first] = bad[0]!;
  if (bad.length === 1) return first.error!.message;
  const others = bad.slice(1, 5).map(([r, s]) => `${r} (host ${s.host})`).join(', ');
  return `${first.error!.message} (also on rank${bad.length > 2 ? 's' : ''} ${others}${bad.length > 5 ? ` and ${bad.length - 5} more` : ''})`;
}

/** A pool of tasks run by the other ranks of a communicator; exists on rank 0 only. */
export class Pool<T = unknown, R = unknown> {
  readonly #s: Scheduler;
  readonly #rank: number;
  #submitted = 0;
  #closing: Promise<void> | undefined;

  private constructor(s: Scheduler, rank: number) {
    this.#s = s;
    this.#rank = rank;
  }

  /**
   * Collective over `comm`. Every rank that runs tasks imports `options.module` and takes its
   * export `options.export` (default 'default'). Resolves on rank 0 to the pool; on every other
   * rank it serves tasks until rank 0 calls close(), then resolves null. In a communicator of
   * one, rank 0 runs the tasks itself. A rank that cannot load the module fails Pool.start on
   * every rank, naming that rank and its host (ERR_ARG); bad options are a TypeError.
   */
  static async start<T = unknown, R = unknown>(comm: Comm, options: PoolOptions): Promise<Pool<T, R> | null> {
    if (!(comm instanceof Comm)) throw new TypeError(`Pool.start: the first argument must be a communicator (from init(), split(), dup() …), got ${comm === null ? 'null' : typeof comm}`);
    const { rank, size, hostname } = comm;
    const status: LoadStatus = { host: hostname };
    let spec: StartSpec | undefined;
    try {
      spec = checkStartOptions(rank, options);
    } catch (e) {
      status.error = { kind: 'TypeError', message: (e as Error).message };
    }
    const pc = await comm.dup(); // the pool's own message space: no match with the program's messages
    let fn: TaskFn | undefined;
    if (spec && (rank !== 0 || size === 1)) {
      try {
        fn = await loadTask(spec.module, spec.exportName);
      } catch (e) {
        status.error = { kind: 'ERR_ARG', message: `Pool.start: rank ${rank} on host ${hostname}: ${(e as Error).message}` };
      }
    }
    const all = await pc.allgather(status);
    const bad = all.map((s, r) => [r, s] as [number, LoadStatus]).filter(([, s]) => s.error);
    if (bad.length > 0) {
      const message = describeFailures(bad);
      throw bad[0]![1].error!.kind === 'TypeError' ? new TypeError(message) : new OrchidError('ERR_ARG', message);
    }
    if (rank !== 0) {
      await serve(pc, fn!);
      return null;
    }
    return new Pool<T, R>(new Scheduler(pc, all.map((s) => s.host), spec!.inflight, size === 1 ? fn : undefined), rank);
  }

  /** Workers still serving (ranks 1 … size-1 less those that are gone; 1 in a world of one). */
  get workers(): number {
    return this.#s.workers;
  }

  /**
   * Run the task on every item: yields `{ index, value }` or `{ index, error }` per item, in
   * submission order (or as completed with `ordered: false`). Items are taken as you iterate.
   */
  map(items: Iterable<T> | AsyncIterable<T>, options?: MapOptions): AsyncGenerator<MapResult<R>, void, undefined> {
    const source = checkItems(this.#rank, items);
    const spec = checkMapOptions(this.#rank, options);
    return mapResults<R>(this.#s, source, spec);
  }

  /** Run the task on one item: resolves with its value, rejects with its error. */
  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const settle = (o: Outcome): void => ('error' in o ? reject(o.error) : resolve(o.value as R));
      this.#s.submit('pool.submit', [{ index: this.#submitted++, item, settle }]);
    });
  }

  /**
   * Wait for every task submitted so far, then stop the workers (their Pool.start resolves
   * null). Later map() and submit() calls fail with ERR_FINALIZED. Calling it again returns
   * the same promise. With `timeoutMs`, tasks still running then fail with ERR_TIMEOUT and
   * close() rejects with ERR_TIMEOUT naming the busy ranks.
   */
  close(options?: CloseOptions): Promise<void> {
    if (this.#closing) return this.#closing;
    let timeoutMs: number | undefined;
    try {
      timeoutMs = checkCloseOptions(this.#rank, options);
    } catch (e) {
      return Promise.reject(e);
    }
    return (this.#closing = this.#s.close(timeoutMs));
  }
}

