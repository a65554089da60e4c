// The MPI matching engine: posted receives and unexpected messages per context,
// matched by (source, tag) with wildcards, in arrival order per sender (non-overtaking).
import type { Packet } from '../codec/index.js';

/** A posted receive's source or tag that matches any value (sources and tags are >= 0). */
export const ANY = -1;

/** A message that has arrived: an eager one carries its packet, a rendezvous one fetches it. */
export interface Arrival {
  ctx: number;
  src: number;
  tag: number;
  /** payload length in bytes */
  bytes: number;
  elem: number;
  /** the sender's collective signature (0 for point to point) */
  sig?: number;
  /** world rank of the sender */
  peer: number;
  packet?: Packet;
  fetch?: () => Promise<Packet>;
  /** called once when a receive takes it (credit accounting) */
  consumed?: () => void;
}

export interface Posted {
  ctx: number;
  /** a source rank, or ANY */
  src: number;
  /** a tag, or ANY */
  tag: number;
  /** a probe: sees the message but leaves it queued */
  peek: boolean;
  /** the API call that posted it, for error messages */
  call: string;
  /** world ranks the receive may hear from (the communicator's group); one entry for a named source */
  from: readonly number[];
  resolve(a: Arrival): void;
  reject(e: Error): void;
}

interface Queues {
  posted: Posted[];
  unexpected: Arrival[];
  /** collective (tag -> error) that failed elsewhere: receives on it fail at once */
  poisoned?: Map<number, Error>;
}

const matches = (p: Posted, a: Arrival) => (p.src === ANY || p.src === a.src) && (p.tag === ANY || p.tag === a.tag);

export class Matcher {
  private readonly byCtx = new Map<number, Queues>();

  private queues(ctx: number): Queues {
    let q = this.byCtx.get(ctx);
    if (!q) this.byCtx.set(ctx, (q = { posted: [], unexpected: [] }));
    return q;
  }

  /** A message arrived: hand it to the first matching receive, else queue it. */
  arrive(a: Arrival): void {
    const q = this.queues(a.ctx);
    // a message of a collective step that already failed here is dropped (its credit returned)
    if (q.poisoned?.has(a.tag)) return a.consumed?.();
    const posted = q.posted;
    for (let i = 0; i < posted.length; i++) {
      const p = posted[i]!;
      if (!matches(p, a)) continue;
      posted.splice(i, 1);
      if (p.peek) {
        i--;
        p.resolve(a);
        continue;
      }
      a.consumed?.();
      p.resolve(a);
      return;
    }
    q.unexpected.push(a);
  }

  /** Post a receive or probe; it completes at once when a queued message matches. */
  post(p: Posted): void {
    const q = this.queues(p.ctx);
    const err = q.poisoned?.get(p.tag);
    if (err) return p.reject(err);
    const un = q.unexpected;
    for (let i = 0; i < un.length; i++) {
      const a = un[i]!;
      if (!matches(p, a)) continue;
      if (!p.peek) {
        un.splice(i, 1);
        a.consumed?.();
      }
      return p.resolve(a);
    }
    q.posted.push(p);
  }

  /** The first queued message that a receive (ctx, src, tag) would take, without taking it. */
  peek(ctx: number, src: number, tag: number): Arrival | undefined {
    const q = this.byCtx.get(ctx);
    if (!q) return undefined;
    for (const a of q.unexpected) if ((src === ANY || src === a.src) && (tag === ANY || tag === a.tag)) return a;
    return undefined;
  }

  /** Fail every posted receive that can only be satisfied by peers in `lost`. */
  failWaitingOn(lost: (peer: number) => boolean, err: (p: Posted) => Error): void {
    for (const q of this.byCtx.values()) {
      const keep: Posted[] = [];
      const failed: Posted[] = [];
      for (const p of q.posted) (p.from.every(lost) ? failed : keep).push(p);
      if (failed.length === 0) continue;
      q.posted = keep;
      for (const p of failed) p.reject(err(p));
    }
  }

  /** A collective step (ctx, tag) failed on another rank: fail its receives, now and later. */
  poison(ctx: number, tag: number, err: Error): void {
    const q = this.queues(ctx);
    (q.poisoned ??= new Map()).set(tag, err);
    // what already arrived for it is never received: drop it, returning its eager credit
    if (q.unexpected.some((a) => a.tag === tag)) {
      for (const a of q.unexpected) if (a.tag === tag) a.consumed?.();
      q.unexpected = q.unexpected.filter((a) => a.tag !== tag);
    }
    const failed = q.posted.filter((p) => p.tag === tag);
    if (failed.length === 0) return;
    q.posted = q.posted.filter((p) => p.tag !== tag);
    for (const p of failed) p.reject(err);
  }

  /** The error of a failed collective step, if (ctx, tag) is one. */
  poisoned(ctx: number, tag: number): Error | undefined {
    return this.byCtx.get(ctx)?.poisoned?.get(tag);
  }

  /** Reject every posted receive (abort / finalize). */
  failAll(err: Error): void {
    for (const q of this.byCtx.values()) {
      const posted = q.posted;
      q.posted = [];
      for (const p of posted) p.reject(err);
    }
  }

  pendingCount(): number {
    let n = 0;
    for (const q of this.byCtx.values()) n += q.posted.length;
    return n;
  }
}
