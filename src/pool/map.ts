// pool.map(): items (an Array or any (async) iterable) are taken as the results are consumed,
// `chunk` at a time per message, at most a window of items ahead of the consumer (so an
// endless source works), and yielded as `{ index, value }` or `{ index, error }`: in submission
// order, or as they complete with `ordered: false`. Leaving the loop early drops the batches
// not yet sent; those in flight still run (close() waits for them).
import type { MapSpec } from './options.js';
import type { Batch, Outcome, Scheduler, Task } from './scheduler.js';

/** One result of pool.map(): the item's index and its value, or the error that ended it. */
export type MapResult<R = unknown> = { index: number; value: R; error?: undefined } | { index: number; error: Error; value?: undefined };

/** Items taken ahead of the consumer: enough to keep every worker's batches full, twice over. */
const windowOf = (s: Scheduler, chunk: number): number => Math.max(64, s.capacity * chunk * 2);

export async function* mapResults<R>(s: Scheduler, items: Iterable<unknown> | AsyncIterable<unknown>, spec: MapSpec): AsyncGenerator<MapResult<R>, void, undefined> {
  const known = Array.isArray(items) ? items.length : undefined;
  const it: Iterator<unknown> | AsyncIterator<unknown> =
    Symbol.asyncIterator in items ? (items as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (items as Iterable<unknown>)[Symbol.iterator]();
  const ready = new Map<number, MapResult<R>>(); // ordered: by index
  const completed: MapResult<R>[] = []; // unordered: as they come
  const open = new Set<Batch>();
  let taken = 0;
  let yielded = 0;
  let done = 0;
  let sourceDone = false;
  let stopped = false;
  let failure = undefined as { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  let wakePump: (() => void) | undefined;
  const poke = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const pokePump = (): void => {
    const w = wakePump;
    wakePump = undefined;
    w?.();
  };

  const settle = (index: number, o: Outcome): void => {
    if (stopped) return;
    const r = ('error' in o ? { index, error: o.error } : { index, value: o.value as R }) as MapResult<R>;
    if (spec.ordered) ready.set(index, r);
    else completed.push(r);
    done++;
    if (spec.progress) {
      try {
        spec.progress(done, sourceDone ? taken : known);
      } catch (e) {
        failure ??= { error: e };
      }
    }
    poke();
  };

  // takes items from the source and submits them, while the window has room
  const pump = async (): Promise<void> => {
    try {
      while (!sourceDone && !stopped) {
        if (taken - yielded >= windowOf(s, spec.chunk)) {
          await new Promise<void>((r) => (wakePump = r));
          continue;
        }
        // a batch leaves `open` (what an early exit cancels) once its last task has ended
        const group: { left: number; batch?: Batch } = { left: 0 };
        const tasks: Task[] = [];
        while (tasks.length < spec.chunk && !stopped) {
          const n = await it.next();
          if (n.done) {
            sourceDone = true;
            break;
          }
          const index = taken++;
          group.left++;
          tasks.push({
            index,
            item: n.value,
            settle: (o) => {
              if (--group.left === 0 && group.batch) open.delete(group.batch);
              settle(index, o);
            },
          });
        }
        if (stopped || tasks.length === 0) break;
        const batch = s.submit('pool.map', tasks);
        if (group.left > 0) open.add((group.batch = batch));
      }
    } catch (e) {
      failure ??= { error: e };
    } finally {
      poke();
    }
  };
  void pump();

  try {
    for (;;) {
      if (failure) throw failure.error;
      if (spec.ordered) {
        while (ready.has(yielded)) {
          const r = ready.get(yielded)!;
          ready.delete(yielded);
          yielded++;
          pokePump();
          yield r;
        }
      } else {
        while (completed.length > 0) {
          yielded++;
          pokePump();
          yield completed.shift()!;
        }
      }
      if (failure) throw (failure as { error: unknown }).error;
      if (sourceDone && yielded === taken) return;
      await new Promise<void>((r) => (wake = r));
    }
  } finally {
    stopped = true;
    pokePump();
    s.cancel(open);
    // the source is told to finish; a pending next() of a slow source is not waited for
    if (!sourceDone) Promise.resolve().then(() => it.return?.()).catch(() => {});
  }
}
