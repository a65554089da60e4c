// The WebSocket mesh: each rank listens on one TCP port (and a Unix socket for peers on
// its host); a connection to a peer opens on the first send (or for every peer at init, see
// connectAll) and carries that rank's messages to the peer in order. Replies of the protocol
// (CTS, CREDIT) travel back on the same socket. A connect that fails for a passing reason is
// retried; a port holds few connections that have not proved the job secret, and not for long.
import { existsSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { OrchidError } from '../../errors.js';
import type { Header } from '../frame.js';
import type { Link, LinkEvents, Links } from '../links.js';
import { encodeFrame, FrameReader, INLINE_MAX } from './framing.js';
import { accepted, challenge, newNonce, respond, verify } from './handshake.js';

/** A connection to a rank's port must prove the job secret within this time from its TCP
 *  accept (covering the HTTP upgrade and the handshake), else it is closed. */
export const AUTH_DEADLINE_MS = 5000;
/** If the deadline's timer fires this late, the rank's event loop was blocked (a long
 *  computation) and the peer had no chance to answer: it gets another full deadline. */
const AUTH_LAG_MS = 1000;
/** Connections accepted but not yet authenticated that a rank holds at once (TCP and Unix
 *  socket together); beyond, new ones are closed at once. A refused peer retries. */
export const AUTH_PENDING_MAX = 128;
/** A connect that fails for a passing reason is retried after this, doubling up to
 *  CONNECT_RETRY_MAX_MS, until the connect timeout (ORCHID_CONNECT_TIMEOUT) has passed. */
export const CONNECT_RETRY_FIRST_MS = 20;
export const CONNECT_RETRY_MAX_MS = 1000;
/** Default of MeshOptions.connectTimeoutMs (ORCHID_CONNECT_TIMEOUT). */
export const CONNECT_TIMEOUT_MS = 30_000;
/** Largest message before the peer is authenticated: the handshake's are under 100 bytes. */
const PRE_AUTH_PAYLOAD = 1024;
const JOB_HEADER = 'x-orchid-job';

/** How a peer is reached, as published through the coordinator. */
export interface PeerAddress {
  host: string;
  tcp: string;
  unix?: string;
}

export interface MeshOptions {
  rank: number;
  size: number;
  job: string;
  host: string;
  secret: Buffer;
  /** address to listen on and advertise */
  addr: string;
  /** also listen on a Unix socket for peers on this host */
  unix: boolean;
  /** how long a connect may fail for passing reasons before the link gives up (ms) */
  connectTimeoutMs?: number;
  /** a message this rank reported sent can no longer be delivered (the job cannot go on);
   *  without it the peer is reported lost */
  fatal?: (err: OrchidError) => void;
}

/** What a failed connect attempt says: `retry` for a passing cause, and the cause in words. */
interface ConnectFailure {
  retry: boolean;
  why: string;
}

/** Error codes of a connect that may well work a moment later. */
const PASSING: Record<string, string> = {
  EMFILE: 'too many open files (EMFILE)',
  ENFILE: 'too many open files in the system (ENFILE)',
  EAGAIN: 'resource temporarily unavailable (EAGAIN)',
  ENOBUFS: 'no buffer space available (ENOBUFS)',
  ENOMEM: 'out of memory (ENOMEM)',
  ETIMEDOUT: 'connection timed out (ETIMEDOUT)',
  ECONNREFUSED: 'connection refused (ECONNREFUSED)',
  ECONNRESET: 'connection reset by the peer (ECONNRESET)',
  ECONNABORTED: 'connection aborted (ECONNABORTED)',
  EPIPE: 'broken pipe (EPIPE)',
  EADDRNOTAVAIL: 'no local address or port available (EADDRNOTAVAIL)',
  EHOSTUNREACH: 'host unreachable (EHOSTUNREACH)',
  ENETUNREACH: 'network unreachable (ENETUNREACH)',
  ENOENT: 'no such socket file (ENOENT)',
};

const wsOptions = { perMessageDeflate: false, maxPayload: PRE_AUTH_PAYLOAD, skipUTF8Validation: true } as const;

/**
 * Lift the message size limit once the peer proved the secret. Until then ws refuses (1009)
 * any message over PRE_AUTH_PAYLOAD, so an unauthenticated client cannot make it buffer a
 * huge one. ws reads the limit per frame from its receiver; it has no public setter, so this
 * sets the receiver's field (0 = no limit, what ws uses for a large maxPayload too).
 */
function liftPayloadLimit(ws: WebSocket): void {
  (ws as unknown as { _receiver: { _maxPayload: number } })._receiver._maxPayload = 0;
}

/**
 * Writes our frames as WebSocket frames straight onto the connection's socket (framing.ts
 * makes the bytes): a small frame is one buffer and one write; a large payload is a second
 * frame written from the caller's memory. (ws's own sender would issue a writev of two
 * buffers per message; its receiver still parses everything that arrives.)
 */
class FrameWriter {
  constructor(private readonly sock: Socket, private readonly masked: boolean) {}

  unref(): void {
    this.sock.unref();
  }

  write(h: Header, payload: Uint8Array | undefined, done?: (err?: Error) => void): void {
    const f = encodeFrame(h, payload, this.masked);
    const sock = this.sock;
    if (!f.payload) {
      sock.write(f.head);
      done?.();
      return;
    }
    sock.cork();
    sock.write(f.head);
    sock.write(f.payload, done ? (err) => done(err ?? undefined) : undefined);
    sock.uncork();
  }
}

/** The channel of this rank's messages to one peer: queues until connected and authenticated.
 *  A connect that fails for a passing reason (see PASSING, a connection closed before the
 *  handshake began, the peer's port refusing beyond AUTH_PENDING_MAX) is retried with backoff,
 *  keeping the queue; after the connect timeout the link gives up (WsMesh.fatal if messages are
 *  queued, else quietly: a later send opens a new link). */
class OutLink implements Link {
  private ws: WebSocket | undefined;
  private writer: FrameWriter | undefined;
  private queue: [Header, Uint8Array | undefined, ((err?: Error) => void) | undefined][] = [];
  private ready = false;
  private dead: string | undefined;
  private readonly since = Date.now();
  private attempts = 0;
  private retry: NodeJS.Timeout | undefined;
  private settle!: () => void;
  /** settles once the link is authenticated, or has failed for good */
  readonly opened: Promise<void>;

  constructor(private readonly mesh: WsMesh, private readonly peer: number) {
    this.opened = new Promise((r) => (this.settle = r));
    this.attempt();
  }

  get isReady(): boolean {
    return this.ready;
  }

  private attempt(): void {
    const mesh = this.mesh;
    const peer = this.peer;
    let url: string;
    try {
      url = mesh.urlOf(peer);
    } catch (e) {
      return this.fail((e as Error).message);
    }
    const ws = new WebSocket(url, {
      ...wsOptions,
      headers: { [JOB_HEADER]: mesh.opts.job },
      // A zero mask lets ws skip masking: the bytes go out as they are (RFC 6455 allows any key).
      generateMask: (mask: Buffer) => mask.fill(0),
    });
    this.ws = ws;
    ws.once('upgrade', (res: IncomingMessage) => {
      if (ws === this.ws) this.writer = new FrameWriter(res.socket as Socket, true);
    });
    let nonce: Buffer | undefined;
    const recv = new FrameReader(peer, this, mesh.events, (why) => this.fail(`protocol error from rank ${peer}: ${why}`));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (ws !== this.ws) return;
      if (!isBinary) return this.fail('text message');
      if (this.ready) return recv.onMessage(data);
      if (!nonce) {
        const r = respond(mesh.opts.secret, data, mesh.opts.rank);
        if (!r) return this.fail(`rank ${peer} sent no valid challenge`);
        nonce = r.nonce;
        ws.send(r.reply);
        return;
      }
      if (!accepted(mesh.opts.secret, nonce, data)) return this.fail(`rank ${peer} could not prove the job secret`);
      liftPayloadLimit(ws);
      this.ready = true;
      this.settle();
      for (const [h, p, d] of this.queue) this.writer!.write(h, p, d);
      this.queue = [];
      // Until here the socket kept the program alive so queued messages go out even if
      // the program ends now; an open connection alone must not keep it running.
      this.writer!.unref();
      mesh.linkReady();
    });
    ws.on('error', (err) => this.broken(ws, err, nonce !== undefined));
    ws.on('close', () => this.broken(ws, undefined, nonce !== undefined));
  }

  /** Attempt `ws` ended with `err` (or a close); `proved`: we had answered the challenge. */
  private broken(ws: WebSocket, err: Error | undefined, proved: boolean): void {
    if (ws !== this.ws || this.dead !== undefined) return;
    if (this.ready) return this.fail(err?.message ?? 'connection closed');
    const f = this.classify(err, proved);
    if (!f.retry) return this.fail(f.why);
    this.ws = undefined;
    this.writer = undefined;
    ws.terminate();
    const waited = Date.now() - this.since;
    const limit = this.mesh.connectTimeoutMs;
    if (waited >= limit) return this.giveUp(f.why, waited);
    const delay = Math.min(CONNECT_RETRY_MAX_MS, CONNECT_RETRY_FIRST_MS * 2 ** this.attempts++, limit - waited);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.dead === undefined) this.attempt();
    }, delay);
    // A link with nothing queued (opened at init) must not keep the program alive.
    if (this.queue.length === 0) this.retry.unref();
  }

  private classify(err: Error | undefined, proved: boolean): ConnectFailure {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    const gone = this.mesh.exitedWhy(this.peer);
    if (gone !== undefined) return { retry: false, why: `${err?.message ?? 'connection closed'} (${gone})` };
    if (proved) return { retry: false, why: `rank ${this.peer} closed the connection after our proof of the job secret (another job's secret?)` };
    if (code && PASSING[code]) return { retry: true, why: PASSING[code]! };
    const status = err && /^Unexpected server response: (\d+)/.exec(err.message);
    if (status && status[1] === '403') return { retry: false, why: `rank ${this.peer}'s port belongs to another job (403): a stale address?` };
    if (!err) return { retry: true, why: 'the connection was closed before the handshake (the peer\'s port was busy)' };
    if (status) return { retry: true, why: `the peer answered HTTP ${status[1]}` };
    return { retry: false, why: err.message };
  }

  /** The connect kept failing for `waited` ms: the last cause was `why`. */
  private giveUp(why: string, waited: number): void {
    const mesh = this.mesh;
    const who = mesh.describe(this.peer);
    const n = this.queue.length;
    const msg = `rank ${mesh.opts.rank} could not connect to ${who} for ${(waited / 1000).toFixed(1)} s (ORCHID_CONNECT_TIMEOUT): ${why}`;
    if (n === 0) {
      // Nothing lost: drop the link quietly; the next send opens a new one.
      this.dead = msg;
      this.settle();
      mesh.forget(this.peer, this);
      return;
    }
    const err = new OrchidError('ERR_TRANSPORT', `send: ${msg}; ${n} message${n === 1 ? '' : 's'} not delivered`);
    if (mesh.opts.fatal) {
      this.dead = err.message;
      const q = this.queue;
      this.queue = [];
      for (const [, , d] of q) d?.(err);
      this.settle();
      mesh.forget(this.peer, this);
      mesh.opts.fatal(err);
      return;
    }
    this.fail(err.message);
  }

  send(h: Header, payload?: Uint8Array, done?: (err?: Error) => void): void {
    if (this.dead !== undefined) return done?.(new Error(this.dead));
    if (this.ready) return this.writer!.write(h, payload, done);
    this.retry?.ref(); // something to deliver: the retry keeps the program alive now
    // Copy small payloads now so the caller may reuse its memory before the socket opens.
    if (payload && payload.byteLength <= INLINE_MAX) {
      this.queue.push([h, Buffer.from(payload), undefined]);
      done?.();
    } else this.queue.push([h, payload, done]);
  }

  /** Not ready yet: the peer is known gone (no point retrying). */
  peerExited(why: string): void {
    if (!this.ready) this.fail(why);
  }

  fail(why: string): void {
    if (this.dead !== undefined) return;
    this.dead = why;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    const q = this.queue;
    this.queue = [];
    for (const [, , d] of q) d?.(new Error(why));
    this.ws?.terminate();
    this.settle();
    this.mesh.linkLost(this.peer, this, why);
  }

  close(): Promise<void> {
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.dead ??= 'closed';
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return closeSocket(ws);
  }
}

/** Close gracefully (queued bytes still go out), but never wait long. */
function closeSocket(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      ws.terminate();
      resolve();
    }, 2000);
    t.unref();
    ws.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else ws.close(1000);
  });
}

/** An authenticated connection from a peer; replies go back on it. */
class InLink implements Link {
  private readonly writer: FrameWriter;
  constructor(private readonly ws: WebSocket, sock: Socket) {
    this.writer = new FrameWriter(sock, false);
  }
  send(h: Header, payload?: Uint8Array, done?: (err?: Error) => void): void {
    if (this.ws.readyState !== WebSocket.OPEN) return done?.(new Error('connection closed'));
    this.writer.write(h, payload, done);
  }
}

/** A connection accepted but not yet authenticated: its deadline. */
interface Unproven {
  timer: NodeJS.Timeout;
}

export class WsMesh implements Links {
  private readonly servers: Server[] = [];
  private readonly wss = new WebSocketServer({ noServer: true, ...wsOptions, clientTracking: false });
  private readonly out = new Map<number, OutLink>();
  private readonly inbound = new Map<number, Set<WebSocket>>();
  /** connections accepted that have not proved the secret yet, with their deadline */
  private readonly unproven = new Map<Socket, Unproven>();
  /** peers the launcher reported gone, and how */
  private readonly exited = new Map<number, string>();
  private peers: readonly PeerAddress[] = [];
  private closing = false;
  /** called when a link becomes ready (connectAll waits on it) */
  private onLink: (() => void) | undefined;
  /** connections refused because AUTH_PENDING_MAX were waiting (for tests and diagnostics) */
  refused = 0;
  unixPath: string | undefined;
  tcpAddress = '';

  constructor(readonly opts: MeshOptions, readonly events: LinkEvents) {}

  get connectTimeoutMs(): number {
    return this.opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
  }

  /** Start listening; returns this rank's address for the coordinator's table. */
  async listen(): Promise<PeerAddress> {
    const tcp = await this.serve((s) => s.listen(0, this.opts.addr));
    const a = tcp.address();
    if (!a || typeof a === 'string') throw new Error('no TCP address');
    this.tcpAddress = a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
    const me: PeerAddress = { host: this.opts.host, tcp: this.tcpAddress };
    if (this.opts.unix) {
      const path = join(tmpdir(), `orchid-${this.opts.job.slice(0, 12)}-${this.opts.rank}.sock`);
      if (path.length < 100) {
        try {
          unlinkSync(path);
        } catch {
          /* not there: the usual case */
        }
        await this.serve((s) => s.listen(path));
        this.unixPath = me.unix = path;
        process.once('exit', () => this.unlinkUnix());
      }
    }
    return me;
  }

  private serve(start: (s: Server) => void): Promise<Server> {
    const server = createServer((_req, res) => {
      res.writeHead(426).end();
    });
    server.on('connection', (sock: Socket) => this.admit(sock));
    server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    server.on('clientError', (_e, socket) => socket.destroy());
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.once('listening', () => {
        server.off('error', reject);
        server.unref();
        resolve(server);
      });
      start(server);
    });
  }

  /**
   * A new TCP or Unix connection. Its authentication deadline runs from here, over the HTTP
   * upgrade and the handshake: a timer of its own (not the socket's idle timeout, which the
   * http server and ws reset and ws turns off on upgrade). Beyond AUTH_PENDING_MAX unproven
   * connections, it is closed at once; a real peer retries (OutLink).
   */
  private admit(sock: Socket): void {
    if (this.closing || this.unproven.size >= AUTH_PENDING_MAX) {
      if (!this.closing) this.refused++;
      sock.destroy();
      return;
    }
    const entry: Unproven = { timer: undefined as unknown as NodeJS.Timeout };
    const arm = (ms: number): void => {
      const due = Date.now() + ms;
      entry.timer = setTimeout(() => {
        if (!this.unproven.has(sock)) return;
        // Fired late: this rank's event loop was blocked; the peer's answer may be waiting unread.
        if (Date.now() - due > AUTH_LAG_MS) return arm(AUTH_DEADLINE_MS);
        this.unproven.delete(sock);
        sock.destroy();
      }, ms);
      entry.timer.unref();
    };
    arm(AUTH_DEADLINE_MS);
    this.unproven.set(sock, entry);
    sock.unref(); // a connection, proven or not, never keeps a finished program alive
    sock.once('close', () => this.proven(sock));
  }

  /** `sock` proved the secret, or closed: no longer counted or timed. */
  private proven(sock: Socket): void {
    const e = this.unproven.get(sock);
    if (!e) return;
    clearTimeout(e.timer);
    this.unproven.delete(sock);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // Wrong job (a stale peer, a scanner): refused before any WebSocket exists.
    if (this.closing || req.headers[JOB_HEADER] !== this.opts.job) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    (socket as Socket).unref(); // see OutLink: connections never keep a program alive
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, socket as Socket));
  }

  private accept(ws: WebSocket, sock: Socket): void {
    const nonce = newNonce();
    let from = -1;
    let recv: FrameReader | undefined;
    ws.on('error', () => ws.terminate());
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (recv) return recv.onMessage(data);
      const ok = isBinary ? verify(this.opts.secret, nonce, data, this.opts.size) : undefined;
      if (!ok) {
        ws.terminate(); // nothing reaches the program from an unproven socket
        return;
      }
      this.proven(sock);
      liftPayloadLimit(ws);
      from = ok.rank;
      ws.send(ok.accept);
      let set = this.inbound.get(from);
      if (!set) this.inbound.set(from, (set = new Set()));
      set.add(ws);
      const link = new InLink(ws, sock);
      recv = new FrameReader(from, link, this.events, (why) => {
        ws.terminate();
        this.events.lost(from, `protocol error: ${why}`);
      });
      this.onLink?.();
    });
    ws.on('close', () => {
      if (from < 0) return;
      this.inbound.get(from)?.delete(ws);
      if (!this.closing) this.events.lost(from, 'connection closed');
    });
    ws.send(challenge(nonce));
  }

  setPeers(peers: readonly PeerAddress[]): void {
    this.peers = peers;
  }

  urlOf(peer: number): string {
    const p = this.peers[peer];
    if (!p) throw new Error(`no address for rank ${peer}`);
    if (p.unix && p.host === this.opts.host && this.opts.unix && existsSync(p.unix)) return `ws+unix://${p.unix}:/`;
    return `ws://${p.tcp}/`;
  }

  describe(peer: number): string {
    const host = this.peers[peer]?.host;
    return host ? `rank ${peer} on ${host}` : `rank ${peer}`;
  }

  to(peer: number): Link {
    let l = this.out.get(peer);
    if (!l) this.out.set(peer, (l = new OutLink(this, peer)));
    return l;
  }

  /**
   * Open and authenticate the connection to every other rank now, and wait (at most `ms`) until
   * every other rank's connection to this one is authenticated too, so that no first message
   * waits for an event loop. Links not ready by then keep trying, as lazily opened ones do.
   */
  async connectAll(ms: number): Promise<void> {
    const { rank, size } = this.opts;
    for (let p = 0; p < size; p++) if (p !== rank) this.to(p);
    const done = (): boolean => {
      for (let p = 0; p < size; p++) {
        if (p === rank || this.exited.has(p)) continue;
        const l = this.out.get(p);
        if ((l && !l.isReady) || !this.hasInbound(p)) return false;
      }
      return true;
    };
    if (done()) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, ms);
      function finish(): void {
        clearTimeout(timer);
        resolve();
      }
      this.onLink = () => {
        if (done() || this.closing) {
          this.onLink = undefined;
          finish();
        }
      };
    });
  }

  linkReady(): void {
    this.onLink?.();
  }

  /** The launcher reported `peer`'s process gone: a link still connecting stops retrying. */
  peerExited(peer: number, why: string): void {
    if (this.exited.has(peer)) return;
    this.exited.set(peer, why);
    this.out.get(peer)?.peerExited(why);
    this.onLink?.();
  }

  exitedWhy(peer: number): string | undefined {
    return this.exited.get(peer);
  }

  /** `link` gave up with nothing lost: a later send opens a new one. */
  forget(peer: number, link: OutLink): void {
    if (this.out.get(peer) === link) this.out.delete(peer);
    this.onLink?.();
  }

  linkLost(peer: number, link: OutLink, why: string): void {
    if (this.out.get(peer) === link) this.out.delete(peer);
    this.onLink?.();
    if (!this.closing) this.events.lost(peer, why);
  }

  hasInbound(peer: number): boolean {
    return (this.inbound.get(peer)?.size ?? 0) > 0;
  }

  async close(): Promise<void> {
    // Let links still opening deliver what they queued, then close everything.
    await Promise.race([Promise.all([...this.out.values()].map((l) => l.opened)), new Promise((r) => setTimeout(r, 2000).unref())]);
    this.closing = true;
    this.onLink?.();
    for (const [sock, e] of this.unproven) {
      clearTimeout(e.timer);
      sock.destroy();
    }
    this.unproven.clear();
    const socks: Promise<void>[] = [...this.out.values()].map((l) => l.close());
    for (const set of this.inbound.values()) for (const ws of set) socks.push(closeSocket(ws));
    await Promise.all(socks);
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.unlinkUnix();
  }

  private unlinkUnix(): void {
    if (!this.unixPath) return;
    try {
      unlinkSync(this.unixPath);
    } catch {
      /* already gone */
    }
    this.unixPath = undefined;
  }
}
