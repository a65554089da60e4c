// In-memory wires between Engines of one process: what the WebSocket mesh does for the engine
// (src/transport/links.ts), without sockets. Frames go one way in order and arrive on a later
// microtask with a copy of their payload, as bytes off a socket would; the receiver's replies
// (CTS, CREDIT) go back on the reverse link. Every frame is logged for the tests to read.
import { Engine } from '../../dist/transport/engine.js';

/** The frame kinds of src/transport/frame.ts (a const enum there, so numbers here). */
export const EAGER = 1;
export const RTS = 2;
export const CTS = 3;
export const DATA = 4;
export const CREDIT = 5;
export const COLL_ERROR = 6;
export const KIND_NAMES = { [EAGER]: 'EAGER', [RTS]: 'RTS', [CTS]: 'CTS', [DATA]: 'DATA', [CREDIT]: 'CREDIT', [COLL_ERROR]: 'COLL_ERROR' };

/**
 * `size` engines wired to each other. Returns { engines, log, inbound, cut, settle }:
 * log: every frame sent, { from, to, kind, h, bytes }; inbound[i]: the peers engine i has an
 * open connection from (what hasInbound answers; empty unless a test says so); cut(i, j): the
 * connection between i and j fails both ways (each engine hears lost()); settle(): resolves
 * once everything in flight has arrived and been answered.
 */
export function wire(size, { eagerLimit = 1024, window = 4096, hosts = Array.from({ length: size }, (_, i) => `h${i}`) } = {}) {
  const engines = Array.from({ length: size }, (_, rank) => new Engine({ rank, size, eagerLimit, window, hosts }));
  const log = [];
  const inbound = engines.map(() => new Set());
  const broken = new Set();
  const key = (i, j) => `${Math.min(i, j)}-${Math.max(i, j)}`;
  const link = (from, to) => ({
    send(h, payload, done) {
      if (broken.has(key(from, to))) return done?.(new Error('connection closed'));
      const bytes = payload ? Buffer.from(payload) : undefined; // the wire takes a copy
      log.push({ from, to, kind: h.kind, h: { ...h }, bytes: payload?.byteLength ?? 0 });
      queueMicrotask(() => {
        if (broken.has(key(from, to))) return done?.(new Error('connection closed'));
        engines[to].frame(from, links[to].to(from), h, bytes);
        done?.();
      });
    },
  });
  const links = engines.map((_, i) => {
    const out = new Map();
    return {
      to(peer) {
        if (!out.has(peer)) out.set(peer, link(i, peer));
        return out.get(peer);
      },
      hasInbound: (peer) => inbound[i].has(peer),
      close: async () => {},
    };
  });
  engines.forEach((e, i) => (e.links = links[i]));
  return {
    engines,
    log,
    inbound,
    cut(i, j, why = 'connection closed') {
      broken.add(key(i, j));
      engines[i].lost(j, why);
      engines[j].lost(i, why);
    },
    async settle() {
      // frames beget frames (RTS -> CTS -> DATA): wait until a turn passes with none new
      for (let n = -1; n !== log.length; ) {
        n = log.length;
        await new Promise(setImmediate);
      }
    },
  };
}

/** A packet as the codec makes it for a Uint8Array: raw bytes, element code 2. */
export const bytesPacket = (n, fill = 7) => ({ elem: 2, bytes: Buffer.alloc(n, fill) });

/** A value packet (element code 0): `text` as its bytes (the engine never decodes payloads). */
export const textPacket = (text) => ({ elem: 0, bytes: Buffer.from(text) });

/**
 * Post a receive on `engine` (src and tag may be the matcher's ANY); resolves with
 * { src, tag, bytes, packet } once matched and, for a rendezvous message, fetched.
 */
export function recv(engine, { ctx = 0, src, tag, from = [src], call = 'recv', peek = false }) {
  return new Promise((resolve, reject) => {
    engine.post({
      ctx, src, tag, peek, call, from,
      resolve: (a) => {
        if (peek || a.packet) return resolve({ src: a.src, tag: a.tag, bytes: a.bytes, packet: a.packet });
        a.fetch().then((packet) => resolve({ src: a.src, tag: a.tag, bytes: a.bytes, packet }), reject);
      },
      reject,
    });
  });
}

/** Whether `p` has settled by now (after the microtasks already queued). */
export async function settled(p) {
  let done = false;
  p.then(() => (done = true), () => (done = true));
  await new Promise(setImmediate);
  return done;
}
