// The addon's process-wide completion queue: every MPI operation the addon starts returns an
// id (or its result at once), and the addon's progress thread reports completions in batches
// through one callback; MpiProcess turns them into settled promises and keeps Node alive while
// any operation is pending.
import { OrchidError } from '../../errors.js';
import { KeepAlive } from '../keep-alive.js';
import type { Addon, AddonInfo } from './addon.js';

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  keep: unknown;
}

/** One per process: the addon, its completions, and keeping Node alive while MPI works. */
export class MpiProcess {
  readonly info: AddonInfo;
  /** [source, tag, elem, bytes] of the last receive or probe the addon finished at once */
  readonly status = new Int32Array(4);
  private readonly pending = new Map<number, Pending>();
  private readonly keepAlive = new KeepAlive();
  ended?: Error;

  constructor(readonly addon: Addon) {
    const us = (name: string, d: number) => {
      const v = Number(process.env[name] ?? d);
      return Number.isFinite(v) && v >= 0 ? v : d;
    };
    this.info = addon.init((id, err, res) => this.complete(id, err, res), this.status, us('ORCHID_MPI_SPIN_US', 50), us('ORCHID_MPI_POLL_US', 1000), us('ORCHID_MPI_IDLE_SPIN_US', 1000));
  }

  private complete(id: number, err: string | null, res: unknown): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    this.keepAlive.release();
    if (err !== null) p.reject(new OrchidError('ERR_TRANSPORT', `MPI: ${err}`));
    else p.resolve(res);
  }

  /** The promise of an addon operation: `r` is 0 (done), a result (fast path) or an id. */
  wait<T>(r: number | unknown, keep?: unknown): Promise<T> {
    if (typeof r !== 'number') return Promise.resolve(r as T);
    if (r === 0) return Promise.resolve(undefined as T);
    this.keepAlive.acquire();
    return new Promise<T>((resolve, reject) => this.pending.set(r, { resolve: resolve as (v: unknown) => void, reject, keep }));
  }

  failAll(e: Error): void {
    this.ended ??= e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.keepAlive.reset();
  }

  close(): void {
    this.keepAlive.close();
  }
}
