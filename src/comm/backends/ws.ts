// The ws transport's CommBackend: point-to-point through orchid's matching engine
// (src/transport/engine.ts) on the communicator's context, collectives as the JS
// algorithms of src/comm/collectives/ on context+1 with one tag per call, so the two never
// match each other. A collective that fails on one rank is reported to the other members.
import { decode, type Packet } from '../../codec/index.js';
import { OrchidError } from '../../errors.js';
import type { Engine } from '../../transport/engine.js';
import { ANY, type Arrival } from '../../transport/matching.js';
import { allreduce } from '../collectives/allreduce.js';
import { barrier } from '../collectives/barrier.js';
import type { Coll } from '../collectives/coll.js';
import { allgather, alltoall, gather, scatter } from '../collectives/data-movement.js';
import { scan } from '../collectives/scan.js';
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

  /** Run one collective call on the collective context with its own tag. A failure here
   *  is reported to the other members so none of them hangs. */
  private async collective<T>(call: string, body: (c: Coll) => Promise<T>): Promise<T> {
    const tag = this.#collSeq;
    this.#collSeq = (this.#collSeq + 1) & 0x7fffffff;
    const e = this.ws.engine;
    const ctx = this.ctx + 1;
    const c: Coll = {
      call,
      rank: this.rank,
      size: this.size,
      send: (dest, pkt) => e.send(ctx, this.rank, this.group[dest]!, tag, pkt, call),
      recv: async (src) => {
        const a = await this.post(call, src, tag, false, ctx);
        return a.packet ?? (await e.keepAlive.hold(a.fetch!()));
      },
    };
    try {
      return await e.keepAlive.hold(body(c));
    } catch (err) {
      if (!e.isRemoteError(err)) e.collError(ctx, tag, this.group, err as Error);
      throw err;
    }
  }

  barrier(call = 'barrier'): Promise<void> {
    return this.collective(call, barrier);
  }

  bcast(root: number, prepare: () => Packet, check: () => void): Promise<unknown> {
    return this.collective('bcast', async (c) => {
      check();
      const pkt = await bcastPacket(c, c.rank === root ? prepare() : undefined, root);
      return c.rank === root ? undefined : decode(pkt);
    });
  }

  scatter(root: number, prepare: () => Packet[], check: () => void): Promise<unknown> {
    return this.collective('scatter', async (c) => {
      check();
      return scatter(c, c.rank === root ? prepare() : undefined, root);
    });
  }

  gather(value: unknown, root: number, all: boolean, call: string, check: () => void): Promise<unknown[] | undefined> {
    return this.collective(call, async (c) => {
      check();
      return all ? allgather(c, value) : gather(c, value, root);
    });
  }

  alltoall(parts: readonly unknown[], check: () => void): Promise<unknown[]> {
    return this.collective('alltoall', async (c) => {
      check();
      return alltoall(c, parts);
    });
  }

  reduce(kind: ReduceCall, value: unknown, r: Reducer, root: number, check: () => void): Promise<unknown> {
    return this.collective(kind, async (c) => {
      check();
      if (kind === 'reduce') return reduceTree(c, value, r, root);
      if (kind === 'allreduce') return allreduce(c, value, r);
      return scan(c, value, r, kind === 'exscan');
    });
  }

  async split(color: number, key: number, shared: boolean, call: string): Promise<CommBackend | null> {
    const ws = this.ws;
    if (shared) {
      const hosts = (await this.collective(call, (c) => allgather(c, this.hostname))) as string[];
      color = hosts.indexOf(this.hostname);
      key = this.rank;
    }
    // One allgather agrees on the members and on a context id free on all of them.
    const all = (await this.collective(call, (c) => allgather(c, [color, key, ws.nextCtx]))) as [number, number, number][];
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
