// The rank-0 side of the task pool: a queue of batches shared by every map() and submit(),
// handed to the workers with dynamic load balancing (a worker gets the next batch as it
// returns one; up to `inflight` batches per worker, so none waits idle for its next task),
// one receive loop per busy worker, and what happens when a worker is gone (its batches
// fail, the pool goes on with the others) or close() times out. In a world of one, rank 0
// is the only worker and runs the tasks itself.
import type { Comm } from '../comm/comm.js';
import { OrchidError, isOrchidError } from '../errors.js';
import { TAG_RESULT, TAG_STOP, TAG_TASK, TaskError, unencodable, type ResultMessage, type TaskMessage } from './protocol.js';
import type { TaskFn } from './task-module.js';

/** How a task ended. */
export type Outcome = { value: unknown } | { error: Error };

export interface Task {
  /** index in its map(), or the submit() number */
  index: number;
  item: unknown;
  settle(o: Outcome): void;
}

export interface Batch {
  id: number;
  /** 'pool.map' or 'pool.submit': names the call in errors */
  call: string;
  tasks: Task[];
}

interface Worker {
  rank: number;
  host: string;
  alive: boolean;
  receiving: boolean;
  inflight: Map<number, Batch>;
}

const rankList = (ws: readonly Worker[]): string => ws.map((w) => `${w.rank} (host ${w.host})`).join(', ');

export class Scheduler {
  readonly #pc: Comm;
  readonly #limit: number;
  readonly #local: TaskFn | undefined;
  readonly #workers: Worker[];
  readonly #queue: Batch[] = [];
  #nextId = 0;
  #turn = 0;
  /** batches queued or in flight */
  #open = 0;
  #drainWaiters: (() => void)[] = [];
  /** why new submissions fail (set by close()) */
  #closed: OrchidError | undefined;

  /** `hosts[r]`: the host of rank r; `local`: the task function when rank 0 is the only rank. */
  constructor(pc: Comm, hosts: readonly string[], inflight: number, local: TaskFn | undefined) {
    this.#pc = pc;
    this.#limit = inflight;
    this.#local = local;
    const ranks = local ? [0] : hosts.map((_, r) => r).filter((r) => r !== 0);
    this.#workers = ranks.map((rank) => ({ rank, host: hosts[rank]!, alive: true, receiving: false, inflight: new Map() }));
  }

  /** Workers still serving. */
  get workers(): number {
    return this.#workers.filter((w) => w.alive).length;
  }

  /** Batches the live workers can hold at once. */
  get capacity(): number {
    return Math.max(1, this.workers * this.#limit);
  }

  /** Queue `tasks` as one batch (one message); throws when the pool is closed. */
  submit(call: string, tasks: Task[]): Batch {
    if (this.#closed) throw new OrchidError(this.#closed.code, `${call}: ${this.#closed.message}`);
    const batch: Batch = { id: this.#nextId++, call, tasks };
    this.#open++;
    if (this.workers === 0) {
      this.#fail(batch, new OrchidError('ERR_PEER_LOST', `${call}: no worker is left in the pool (every rank that served it is gone)`));
      return batch;
    }
    this.#queue.push(batch);
    this.#dispatch();
    return batch;
  }

  /** Drop batches not yet sent (a map() its consumer left); their tasks never settle. */
  cancel(batches: Iterable<Batch>): void {
    for (const b of batches) {
      const i = this.#queue.indexOf(b);
      if (i < 0) continue;
      this.#queue.splice(i, 1);
      this.#closeBatch();
    }
  }

  /** No more submissions; resolves once every submitted task has ended, then stops the workers. */
  async close(timeoutMs: number | undefined): Promise<void> {
    this.#closed = new OrchidError('ERR_FINALIZED', `the pool is closed (pool.close() was called on rank ${this.#pc.rank})`);
    if (this.#open > 0) {
      const drained = new Promise<void>((resolve) => this.#drainWaiters.push(resolve));
      if (timeoutMs === undefined) await drained;
      else {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
        const r = await Promise.race([drained, late]);
        clearTimeout(timer);
        if (r === 'late') this.#timedOut(timeoutMs);
      }
    }
    await this.#stopWorkers();
  }

  #timedOut(ms: number): never {
    const busy = this.#workers.filter((w) => w.alive && w.inflight.size > 0);
    const err = (t: Task, b: Batch): OrchidError =>
      new OrchidError('ERR_TIMEOUT', `${b.call}: task ${t.index} did not end within pool.close({ timeoutMs: ${ms} })`);
    for (const w of busy) {
      for (const b of w.inflight.values()) for (const t of b.tasks) t.settle({ error: err(t, b) });
      w.inflight.clear();
      w.alive = false; // never sent to again; whatever it returns later is not read
    }
    for (const b of this.#queue.splice(0)) for (const t of b.tasks) t.settle({ error: err(t, b) });
    this.#open = 0;
    // the stop messages still go out: a worker that gets unstuck then ends its Pool.start
    void this.#stopWorkers(busy).catch(() => {});
    throw new OrchidError(
      'ERR_TIMEOUT',
      `pool.close: rank${busy.length === 1 ? '' : 's'} ${rankList(busy)} still ran tasks after ${ms} ms; their tasks failed with ERR_TIMEOUT. Those ranks cannot take part in finalize() while they run: end the job with comm.abort() (called on rank ${this.#pc.rank})`,
    );
  }

  async #stopWorkers(extra: readonly Worker[] = []): Promise<void> {
    if (this.#local) return;
    const to = [...this.#workers.filter((w) => w.alive), ...extra];
    const sent = await Promise.allSettled(to.map((w) => this.#pc.send(null, w.rank, TAG_STOP)));
    sent.forEach((s, i) => {
      // a worker that is gone needs no stop; anything else is the pool's failure to end
      if (s.status === 'rejected' && !(isOrchidError(s.reason) && (s.reason.code === 'ERR_PEER_LOST' || s.reason.code === 'ERR_ABORTED')))
        throw new OrchidError('ERR_TRANSPORT', `pool.close: could not stop rank ${to[i]!.rank} (host ${to[i]!.host}): ${String(s.reason?.message ?? s.reason)}`);
    });
  }

  // ---- dispatch ----

  /** The live worker with the fewest batches in flight under the limit (ties in turn), if any. */
  #pick(): Worker | undefined {
    let best: Worker | undefined;
    const n = this.#workers.length;
    for (let k = 0; k < n; k++) {
      const w = this.#workers[(this.#turn + k) % n]!;
      if (!w.alive || w.inflight.size >= this.#limit) continue;
      if (!best || w.inflight.size < best.inflight.size) best = w;
    }
    if (best) this.#turn = (this.#workers.indexOf(best) + 1) % n;
    return best;
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      const w = this.#pick();
      if (!w) return;
      const b = this.#queue.shift()!;
      w.inflight.set(b.id, b);
      if (this.#local) void this.#runLocal(w, b);
      else {
        this.#send(w, b);
        void this.#receive(w);
      }
    }
  }

  #send(w: Worker, b: Batch): void {
    this.#pc.send([b.id, b.tasks.map((t) => t.item)] satisfies TaskMessage, w.rank, TAG_TASK).catch((e: unknown) => {
      if (!(e instanceof TypeError)) return this.#lost(w, e);
      // items that cannot travel fail on their own; the rest of the batch goes out again
      const bad = unencodable(b.tasks.map((t) => t.item), (i) => `${b.call}: item ${b.tasks[i]!.index} cannot be sent to rank ${w.rank}`);
      if (bad.size === 0) bad.set(-1, e);
      for (const [i, err] of bad) if (i >= 0) b.tasks[i]!.settle({ error: err });
      b.tasks = bad.has(-1) ? (b.tasks.forEach((t) => t.settle({ error: e })), []) : b.tasks.filter((_, i) => !bad.has(i));
      if (b.tasks.length > 0) return this.#send(w, b);
      w.inflight.delete(b.id);
      this.#closeBatch();
      this.#dispatch();
    });
  }

  /** Read `w`'s results while it has batches out. */
  async #receive(w: Worker): Promise<void> {
    if (w.receiving) return;
    w.receiving = true;
    try {
      while (w.alive && w.inflight.size > 0) {
        const [id, results] = await this.#pc.recv<ResultMessage>(w.rank, TAG_RESULT);
        const b = w.inflight.get(id);
        if (!b || !w.alive) continue; // timed out meanwhile
        w.inflight.delete(id);
        b.tasks.forEach((t, i) => {
          const r = results[i];
          if (!r) t.settle({ error: new OrchidError('ERR_TRANSPORT', `${b.call}: rank ${w.rank} returned no result for task ${t.index}`) });
          else if (r[0] === 1) t.settle({ value: r[1] });
          else t.settle({ error: new TaskError(r[1], { rank: w.rank, host: w.host, index: t.index }) });
        });
        this.#closeBatch();
        this.#dispatch();
      }
    } catch (e) {
      this.#lost(w, e);
    } finally {
      w.receiving = false;
    }
  }

  async #runLocal(w: Worker, b: Batch): Promise<void> {
    await null; // never inside the caller's submit()
    for (const t of b.tasks) {
      try {
        t.settle({ value: await this.#local!(t.item) });
      } catch (e) {
        const err = e instanceof Error ? e : new Error(`a task threw a non-Error value: ${String(e)}`);
        t.settle({ error: new TaskError({ name: err.name, message: err.message, stack: err.stack, code: (err as { code?: string }).code }, { rank: 0, host: w.host, index: t.index }) });
      }
    }
    w.inflight.delete(b.id);
    this.#closeBatch();
    this.#dispatch();
  }

  // ---- faults ----

  /** `w` is gone (its process ended, its connection closed): its batches fail, the rest go on. */
  #lost(w: Worker, e: unknown): void {
    if (!w.alive) return;
    w.alive = false;
    const why = e instanceof Error ? e.message : String(e);
    const aborted = isOrchidError(e) && e.code === 'ERR_ABORTED';
    const batches = [...w.inflight.values()];
    w.inflight.clear();
    let n = 0;
    for (const b of batches) {
      n += b.tasks.length;
      this.#fail(b, aborted ? (e as OrchidError) : new OrchidError('ERR_PEER_LOST', `${b.call}: the task ran on rank ${w.rank} (host ${w.host}), which is gone: ${why}`), false);
    }
    if (aborted) {
      // the job is being ended: everything fails with that reason, no "goes on"
      for (const b of this.#queue.splice(0)) this.#fail(b, e as OrchidError);
      for (const o of this.#workers) o.alive = false;
    } else {
      const live = this.workers;
      process.stderr.write(
        `orchid pool: rank ${w.rank} on host ${w.host} is gone (${why}); ${n} task${n === 1 ? '' : 's'} it had failed; the pool goes on with ${live} worker${live === 1 ? '' : 's'}\n`,
      );
      if (live === 0) for (const b of this.#queue.splice(0)) this.#fail(b, new OrchidError('ERR_PEER_LOST', `${b.call}: no worker is left in the pool (the last one, rank ${w.rank} on host ${w.host}, is gone)`));
    }
    for (let i = 0; i < batches.length; i++) this.#closeBatch();
    this.#dispatch();
  }

  /** Fail every task of `b`; `close`: it is also no longer open. */
  #fail(b: Batch, err: Error, close = true): void {
    for (const t of b.tasks) t.settle({ error: err });
    if (close) this.#closeBatch();
  }

  #closeBatch(): void {
    this.#open--;
    if (this.#open > 0) return;
    for (const f of this.#drainWaiters.splice(0)) f();
  }
}
