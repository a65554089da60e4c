// The point-to-point protocol above a wire: eager messages under a credit window,
// rendezvous (RTS -> CTS -> DATA) for large ones so a slow receiver's memory stays
// bounded, sends to self, failure of peers, and collective error notices.
import { decode, encode, ownPacket, type Packet } from '../codec/index.js';
import { errorFromName, errorName, OrchidError } from '../errors.js';
import { HEADER_BYTES, FrameType, type Header } from './frame.js';
import { KeepAlive } from './keep-alive.js';
import { COPY_MAX, type Link, type LinkEvents, type Links } from './links.js';
import { Matcher, type Posted } from './matching.js';

export interface EngineOptions {
  rank: number;
  size: number;
  /** largest payload sent eagerly (bytes) */
  eagerLimit: number;
  /** eager bytes in flight to one peer before sends switch to rendezvous */
  window: number;
  /** host name of each world rank, for error messages */
  hosts: readonly string[];
}

interface RtsOut {
  peer: number;
  ctx: number;
  tag: number;
  call: string;
  pkt: Packet;
  resolve(): void;
  reject(e: Error): void;
}

interface DataWait {
  peer: number;
  ctx: number;
  tag: number;
  elem: number;
  resolve(p: Packet): void;
  reject(e: Error): void;
}

const key = (peer: number, id: number) => peer * 0x1_0000_0000 + id;
const RESOLVED: Promise<void> = Promise.resolve();

export class Engine implements LinkEvents {
  readonly matcher = new Matcher();
  links: Links | undefined;
  /** peers nothing more will arrive from (receives from them fail) */
  private readonly lostPeers = new Map<number, string>();
  /** peers this rank can no longer send to */
  private readonly unreachable = new Map<number, string>();
  private readonly rtsOut = new Map<number, RtsOut>();
  private readonly dataWaits = new Map<number, DataWait>();
  private readonly eagerOut: Float64Array;
  private readonly eagerIn: Float64Array;
  private nextId = 1;
  private closing = false;
  /** keeps the event loop alive while an operation is pending (an awaited recv must not let Node exit) */
  readonly keepAlive = new KeepAlive();
  /** errors that came from another rank's COLL_ERROR notice (not to be reported again) */
  private readonly remoteErrors = new WeakSet<object>();

  constructor(readonly opts: EngineOptions) {
    this.eagerOut = new Float64Array(opts.size);
    this.eagerIn = new Float64Array(opts.size);
  }

  describePeer(peer: number): string {
    const host = this.opts.hosts[peer];
    return host ? `rank ${peer} on ${host}` : `rank ${peer}`;
  }

  isLost(peer: number): boolean {
    return this.lostPeers.has(peer);
  }

  /** Send an encoded value; resolves when the caller may reuse the value's memory. */
  send(ctx: number, src: number, peer: number, tag: number, pkt: Packet, call: string, sig = 0): Promise<void> {
    const len = pkt.bytes.length;
    if (peer === this.opts.rank) {
      this.matcher.arrive({ ctx, src, tag, bytes: len, elem: pkt.elem, sig, peer, packet: ownPacket(pkt) });
      return RESOLVED;
    }
    const gone = this.unreachable.get(peer);
    if (gone !== undefined) return Promise.reject(this.peerError(call, peer, gone));
    const failed = this.matcher.poisoned(ctx, tag);
    if (failed) return Promise.reject(failed);
    const link = this.links!.to(peer);
    const cost = len + HEADER_BYTES;
    if (len <= this.opts.eagerLimit && this.eagerOut[peer]! + cost <= this.opts.window) {
      this.eagerOut[peer]! += cost;
      const h: Header = { kind: FrameType.EAGER, flags: 0, elem: pkt.elem, ctx, src, tag, id: 0, length: len, sig };
      // The hot path: the link copies small payloads before returning, so the send is complete.
      if (len <= COPY_MAX) {
        link.send(h, pkt.bytes);
        return RESOLVED;
      }
      return this.keepAlive.hold(new Promise<void>((resolve, reject) => link.send(h, pkt.bytes, (err) => (err ? reject(this.peerError(call, peer, err.message)) : resolve()))));
    }
    return this.keepAlive.hold(
      new Promise<void>((resolve, reject) => {
        const id = this.nextId++;
        this.rtsOut.set(id, { peer, ctx, tag, call, pkt, resolve, reject });
        link.send({ kind: FrameType.RTS, flags: 0, elem: pkt.elem, ctx, src, tag, id, length: len, sig });
      }),
    );
  }

  isRemoteError(e: unknown): boolean {
    return typeof e === 'object' && e !== null && this.remoteErrors.has(e);
  }

  /** Tell the other members that collective step (ctx, tag) failed here. */
  collError(ctx: number, tag: number, peers: readonly number[], err: Error): void {
    const body = encode({ code: errorName(err), message: err.message, rank: this.opts.rank }, 'collective');
    for (const peer of peers) {
      if (peer === this.opts.rank || this.unreachable.has(peer)) continue;
      this.links?.to(peer).send({ kind: FrameType.COLL_ERROR, flags: 0, elem: 0, ctx, src: 0, tag, id: 0, length: body.bytes.length }, body.bytes);
    }
  }

  frame(from: number, link: Link, h: Header, payload: Buffer | undefined): void {
    switch (h.kind) {
      case FrameType.EAGER: {
        const cost = h.length + HEADER_BYTES;
        this.matcher.arrive({
          ctx: h.ctx, src: h.src, tag: h.tag, bytes: h.length, elem: h.elem, sig: h.sig, peer: from,
          packet: { elem: h.elem, bytes: payload! },
          consumed: () => this.creditBack(from, link, cost),
        });
        return;
      }
      case FrameType.RTS: {
        const id = h.id;
        this.matcher.arrive({
          ctx: h.ctx, src: h.src, tag: h.tag, bytes: h.length, elem: h.elem, sig: h.sig, peer: from,
          fetch: () =>
            new Promise<Packet>((resolve, reject) => {
              const gone = this.lostPeers.get(from);
              if (gone !== undefined) return reject(new OrchidError('ERR_PEER_LOST', `lost ${this.describePeer(from)}: ${gone}`));
              this.dataWaits.set(key(from, id), { peer: from, ctx: h.ctx, tag: h.tag, elem: h.elem, resolve, reject });
              link.send({ kind: FrameType.CTS, flags: 0, elem: 0, ctx: h.ctx, src: 0, tag: 0, id, length: 0 });
            }),
        });
        return;
      }
      case FrameType.CTS: {
        const out = this.rtsOut.get(h.id);
        if (!out || out.peer !== from) return;
        this.rtsOut.delete(h.id);
        const hd: Header = { kind: FrameType.DATA, flags: 0, elem: out.pkt.elem, ctx: h.ctx, src: 0, tag: 0, id: h.id, length: out.pkt.bytes.length };
        this.links!.to(from).send(hd, out.pkt.bytes, (err) => (err ? out.reject(this.peerError(out.call, from, err.message)) : out.resolve()));
        return;
      }
      case FrameType.DATA: {
        const k = key(from, h.id);
        const w = this.dataWaits.get(k);
        if (!w) return;
        this.dataWaits.delete(k);
        w.resolve({ elem: w.elem, bytes: payload ?? Buffer.alloc(0) });
        return;
      }
      case FrameType.CREDIT:
        this.eagerOut[from] = Math.max(0, this.eagerOut[from]! - h.id);
        return;
      case FrameType.COLL_ERROR: {
        let info: { code?: string; message?: string } = {};
        try {
          info = (payload ? decode({ elem: 0, bytes: payload }) : {}) as typeof info;
        } catch {
          /* a malformed notice still fails the step */
        }
        const msg = `${info.message ?? 'collective failed'} (reported by ${this.describePeer(from)})`;
        const err = errorFromName(info.code, msg);
        this.remoteErrors.add(err);
        this.failStep(h.ctx, h.tag, err);
        return;
      }
    }
  }

  /** Collective step (ctx, tag) failed (here or elsewhere): its receives fail, now and later,
   *  and its rendezvous sends and receives, which may never complete, fail too. */
  failStep(ctx: number, tag: number, err: Error): void {
    this.matcher.poison(ctx, tag, err);
    for (const [id, out] of this.rtsOut) {
      if (out.ctx !== ctx || out.tag !== tag) continue;
      this.rtsOut.delete(id);
      out.reject(err);
    }
    for (const [k, w] of this.dataWaits) {
      if (w.ctx !== ctx || w.tag !== tag) continue;
      this.dataWaits.delete(k);
      w.reject(err);
    }
  }

  /** Return eager credit to `peer` in batches, so the sender's window reopens. */
  private creditBack(peer: number, link: Link, cost: number): void {
    const total = (this.eagerIn[peer]! += cost);
    if (total < this.opts.window / 4) return;
    this.eagerIn[peer] = 0;
    link.send({ kind: FrameType.CREDIT, flags: 0, elem: 0, ctx: 0, src: 0, tag: 0, id: total, length: 0 });
  }

  private peerError(call: string, peer: number, why: string): OrchidError {
    return new OrchidError('ERR_PEER_LOST', `${call}: rank ${this.opts.rank} lost ${this.describePeer(peer)}: ${why}`);
  }

  /** A connection to or from `peer` ended. Sends to it fail at once; receives only once no
   *  connection from it is left open, since bytes it sent before leaving may still be queued there. */
  lost(peer: number, why: string): void {
    if (this.closing || peer === this.opts.rank) return;
    const err = (what: string) => new OrchidError('ERR_PEER_LOST', `${what}: rank ${this.opts.rank} lost ${this.describePeer(peer)}: ${why}`);
    if (!this.unreachable.has(peer)) this.unreachable.set(peer, why);
    for (const [id, out] of this.rtsOut) {
      if (out.peer !== peer) continue;
      this.rtsOut.delete(id);
      out.reject(err(out.call));
    }
    if (this.lostPeers.has(peer) || this.links?.hasInbound(peer)) return;
    this.lostPeers.set(peer, why);
    for (const [k, w] of this.dataWaits) {
      if (w.peer !== peer) continue;
      this.dataWaits.delete(k);
      w.reject(err('recv'));
    }
    this.matcher.failWaitingOn((p) => this.lostPeers.has(p), (p) => err(p.call));
  }

  /** The launcher saw `peer`'s process end. Data it sent before may still be in flight on an
   *  open connection, whose close will report it; without one, give late data a moment. */
  peerExited(peer: number, why: string): void {
    if (this.lostPeers.has(peer)) return;
    const check = () => {
      if (this.lostPeers.has(peer)) return;
      if (!this.links?.hasInbound(peer)) this.lost(peer, why);
      else setTimeout(check, 500).unref();
    };
    setTimeout(check, 500).unref();
  }

  /** Fail everything pending with `err` (abort, finalize). */
  failAll(err: Error): void {
    for (const out of this.rtsOut.values()) out.reject(err);
    this.rtsOut.clear();
    for (const w of this.dataWaits.values()) w.reject(err);
    this.dataWaits.clear();
    this.matcher.failAll(err);
  }

  async close(): Promise<void> {
    this.closing = true;
    // finalize() must settle: the connections never keep the program alive by themselves, so
    // while they close (a peer's connection may still be authenticating, and the listening
    // server waits for it) the loop is kept alive here; else Node ends the rank with code 13
    // (an unsettled top-level await) and finalize() never returns.
    this.keepAlive.acquire();
    try {
      await this.links?.close();
    } finally {
      this.keepAlive.close();
    }
  }

  post(p: Posted): void {
    this.matcher.post(p);
  }
}
