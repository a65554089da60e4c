// The ws transport's CommBackend: point-to-point through orchid's matching engine
// (src/transport/engine.ts) on the communicator's context, collectives as the JS
// algorithms of src/comm/collectives/ on context+1 with one tag per call, so the two never
// match each other. A collective that fails on one rank is reported to the other members.
import { decode, EMPTY_PACKET, type Packet } from '../../codec/index.js';
import { OrchidError } from '../../errors.js';
import type { Engine } from '../../transport/engine.js';
import { ANY, type Arrival } from '../../transport/matching.js';
import { allreduce } from '../collectives/allreduce.js';
import { barrier } from '../collectives/barrier.js';
import type { Coll } from '../collectives/coll.js';
import { allgather, alltoall, gather, scatter } from '../collectives/data-movement.js';
import { scan } from '../collectives/scan.js';
import { CHECK, CHECK_BIT, kindOf, mismatch, reduceSignature, signature, type CollKind } from '../collectives/signature.js';
import { bcastPacket, reduceTree } from '../collectives/tree.js';
import type { CommBackend, RawMessage, RawStatus, ReduceCall } from '../comm-backend.js';
import type { Reducer } from '../ops.js';
import { MAX_TAG } from '../validate.js';
import { ANY_SOURCE, ANY_TAG } from '../wildcards.js';

/** The ws world of one process: what all its ws communicators share. */
export interface WsWorld {
  readonly engine: Engine;
  /** host name of each world rank */
  readonly hosts: readonly string[];
  /** the next free context id on this process (even; +1 is the collective context) */
  nextCtx: number;
}

/** comm's wildcards to the matcher's */
const NO_CHECK = () => {};

const matchSrc = (src: number) => (src === ANY_SOURCE ? ANY : src);
const matchTag = (tag: number) => (tag === ANY_TAG ? ANY : tag);

export class WsBackend implements CommBackend {
  readonly size: number;
  readonly hostname: string;
  readonly tagUb = MAX_TAG;
  #collSeq = 0;

  constructor(
    private readonly ws: WsWorld,
    /** context id: even; +1 is the collective context */
    private readonly ctx: number,
    /** world rank of each member */
    readonly group: readonly number[],
    readonly rank: number,
  ) {
    this.size = group.length;
    this.hostname = ws.hosts[group[rank]!]!;
  }

  get members(): readonly number[] {
    return this.group;
  }

  // ---- point to point ----

  send(pkt: Packet, dest: number, tag: number, call: string): Promise<void> {
    const e = this.ws.engine;
    return e.send(this.ctx, this.rank, this.group[dest]!, tag, pkt, call);
  }

  recv(source: number, tag: number, call: string): Promise<RawMessage> {
    return this.post(call, source, tag, false, this.ctx).then((a) =>
      a.packet ? { packet: a.packet, source: a.src, tag: a.tag } : this.ws.engine.keepAlive.hold(a.fetch!()).then((packet) => ({ packet, source: a.src, tag: a.tag })),
    );
  }

  async probe(source: number, tag: number, call: string): Promise<RawStatus> {
    const a = await this.post(call, source, tag, true, this.ctx);
    return { source: a.src, tag: a.tag, bytes: a.bytes };
  }

  iprobe(source: number, tag: number): RawStatus | undefined {
    const a = this.ws.engine.matcher.peek(this.ctx, matchSrc(source), matchTag(tag));
    return a && { source: a.src, tag: a.tag, bytes: a.bytes };
  }

  private post(call: string, src: number, tag: number, peek: boolean, ctx: number): Promise<Arrival> {
    const e = this.ws.engine;
    const me = this.group[this.rank]!;
    const from = src === ANY_SOURCE ? this.group.filter((w) => w !== me) : [this.group[src]!];
    // A peer that is gone may still have left messages in the queue: those are received first.
    if (from.length > 0 && from.every((w) => e.isLost(w)) && !e.matcher.peek(ctx, matchSrc(src), matchTag(tag)))
      return Promise.reject(new OrchidError('ERR_PEER_LOST', `${call}: rank ${this.rank} cannot hear from ${e.describePeer(from[0]!)}: it is gone`));
    return new Promise<Arrival>((resolve, reject) => {
      e.keepAlive.acquire(); // an awaited receive keeps the program alive
      e.post({
        ctx, src: matchSrc(src), tag: matchTag(tag), peek, call, from,
        resolve: (a) => (e.keepAlive.release(), resolve(a)),
        reject: (err) => (e.keepAlive.release(), reject(err)),
      });
    });
  }

  // ---- collectives ----

  /**
   * Run one collective call on the collective context with its own tag. Every message of it
   * carries the call's signature (collectives/signature.ts) and every receive checks it, so
   * calls that differ across ranks fail with ERR_COLLECTIVE instead of matching. Two steps
   * make that hold on every member, with no hang:
   * - the ring check: at entry each rank sends its signature to the next rank and checks the
   *   previous one's, so a mismatch is seen even when every rank only waits (gather at a root
   *   against scatter elsewhere, or roots that differ);
   * - the verdict: a call in which some ranks finish without hearing from every other rank
   *   (bcast, scatter, gather, reduce, scan at sizes that are not powers of two) ends with a
   *   dissemination barrier, so no rank returns while another may still fail.
   * A failure here is reported to the other members (COLL_ERROR) and ends this rank's own
   * pending receives of the call.
   */
  private async collective<T>(call: string, sig: number, full: boolean, check: () => void, body: (c: Coll) => Promise<T>): Promise<T> {
    const tag = this.#collSeq;
    this.#collSeq = (this.#collSeq + 1) & 0x7fffffff;
    const e = this.ws.engine;
    const ctx = this.ctx + 1;
    const { rank, size } = this;
    const coll = (word: number): Coll => ({
      call,
      rank,
      size,
      send: (dest, pkt) => e.send(ctx, rank, this.group[dest]!, tag, pkt, call, word),
      recv: async (src) => {
        const a = await this.post(call, src, tag, false, ctx);
        if ((a.sig ?? 0) !== word) throw mismatch(call, word, rank, a.sig ?? 0, src, tag);
        return a.packet ?? (await e.keepAlive.hold(a.fetch!()));
      },
    });
    const c = coll(sig);
    try {
      // a local error (bad root, operand, encoding) goes out before any message of the call
      check();
      if (size === 1 || !CHECK) return await e.keepAlive.hold(body(c));
      // posted before the body's receives, so it takes the previous rank's first message
      const v = coll((sig | CHECK_BIT) >>> 0); // the ring check's and the verdict's messages
      const ring = v.recv((rank - 1 + size) % size);
      const sent = v.send((rank + 1) % size, EMPTY_PACKET);
      const run = (async () => {
        const out = await body(c);
        if (!full) await barrier(v);
        return out;
      })();
      const [, , out] = await e.keepAlive.hold(Promise.all([ring, sent, run]));
      return out;
    } catch (err) {
      if (!e.isRemoteError(err)) e.collError(ctx, tag, this.group, err as Error);
      e.failStep(ctx, tag, err as Error); // this rank's own pending parts of the call end too
      throw err;
    }
  }

  barrier(call = 'barrier'): Promise<void> {
    return this.collective(call, signature('barrier'), true, NO_CHECK, barrier);
  }

  bcast(root: number, prepare: () => Packet, check: () => void): Promise<unknown> {
    return this.collective('bcast', signature('bcast', root), false, check, async (c) => {
      const pkt = await bcastPacket(c, c.rank === root ? prepare() : undefined, root);
      return c.rank === root ? undefined : decode(pkt);
    });
  }

  scatter(root: number, prepare: () => Packet[], check: () => void): Promise<unknown> {
    return this.collective('scatter', signature('scatter', root), false, check, (c) => scatter(c, c.rank === root ? prepare() : undefined, root));
  }

  gather(value: unknown, root: number, all: boolean, call: string, check: () => void): Promise<unknown[] | undefined> {
    const sig = all ? signature(kindOf(call, 'allgather')) : signature(kindOf(call, 'gather'), root);
    return this.collective(call, sig, all, check, (c) => (all ? allgather(c, value) : gather(c, value, root)));
  }

  alltoall(parts: readonly unknown[], check: () => void, call = 'alltoall'): Promise<unknown[]> {
    return this.collective(call, signature(kindOf(call, 'alltoall')), true, check, (c) => alltoall(c, parts));
  }

  reduce(kind: ReduceCall, value: unknown, r: Reducer, root: number, check: () => void, call: string = kind): Promise<unknown> {
    // allreduce hears from every rank on every rank; so do scans at power-of-two sizes
    const full = kind === 'allreduce' || (kind !== 'reduce' && (this.size & (this.size - 1)) === 0);
    return this.collective(call, reduceSignature(kindOf(call, kind), r.name, value, root), full, check, async (c) => {
      if (kind === 'reduce') return reduceTree(c, value, r, root);
      if (kind === 'allreduce') return allreduce(c, value, r);
      return scan(c, value, r, kind === 'exscan');
    });
  }

  async split(color: number, key: number, shared: boolean, call: string): Promise<CommBackend | null> {
    const ws = this.ws;
    if (shared) {
      const hosts = (await this.collective(call, signature('splitShared'), true, NO_CHECK, (c) => allgather(c, this.hostname))) as string[];
      color = hosts.indexOf(this.hostname);
      key = this.rank;
    }
    // One allgather agrees on the members and on a context id free on all of them.
    const all = (await this.collective(call, signature(call === 'dup' || call === 'splitShared' ? call : 'split'), true, NO_CHECK, (c) => allgather(c, [color, key, ws.nextCtx]))) as [number, number, number][];
    const ctx = Math.max(...all.map((x) => x[2]));
    ws.nextCtx = ctx + 2;
    if (color < 0) return null;
    const members = all
      .map(([col, k], i) => ({ col, k, i }))
      .filter((m) => m.col === color)
      .sort((a, b) => a.k - b.k || a.i - b.i);
    const group = members.map((m) => this.group[m.i]!);
    return new WsBackend(ws, ctx, group, members.findIndex((m) => m.i === this.rank));
  }
}
