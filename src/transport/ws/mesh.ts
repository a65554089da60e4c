// The WebSocket mesh: each rank listens on one TCP port (and a Unix socket for peers on
// its host); connections open lazily on the first send and carry that rank's messages to
// the peer in order. Replies of the protocol (CTS, CREDIT) travel back on the same socket.
import { existsSync, unlinkSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import type { Header } from '../frame.js';
import type { Link, LinkEvents, Links } from '../links.js';
import { encodeFrame, FrameReader, INLINE_MAX } from './framing.js';
import { accepted, challenge, newNonce, respond, verify } from './handshake.js';

const AUTH_DEADLINE_MS = 5000;
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
}

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

/** The channel of this rank's messages to one peer: queues until connected and authenticated. */
class OutLink implements Link {
  private ws: WebSocket | undefined;
  private writer: FrameWriter | undefined;
  private queue: [Header, Uint8Array | undefined, ((err?: Error) => void) | undefined][] = [];
  private ready = false;
  private dead: string | undefined;
  readonly opened: Promise<void>;

  constructor(private readonly mesh: WsMesh, private readonly peer: number, url: string) {
    let settle!: () => void;
    this.opened = new Promise((r) => (settle = r));
    const ws = new WebSocket(url, {
      ...wsOptions,
      headers: { [JOB_HEADER]: mesh.opts.job },
      // A zero mask lets ws skip masking: the bytes go out as they are (RFC 6455 allows any key).
      generateMask: (mask: Buffer) => mask.fill(0),
    });
    this.ws = ws;
    ws.once('upgrade', (res: IncomingMessage) => {
      this.writer = new FrameWriter(res.socket as Socket, true);
    });
    let nonce: Buffer | undefined;
    const recv = new FrameReader(peer, this, mesh.events, (why) => this.fail(`protocol error from rank ${peer}: ${why}`));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
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
      settle();
      for (const [h, p, d] of this.queue) this.writer!.write(h, p, d);
      this.queue = [];
      // Until here the socket kept the program alive so queued messages go out even if
      // the program ends now; an open connection alone must not keep it running.
      this.writer!.unref();
    });
    ws.on('error', (err) => this.fail(err.message));
    ws.on('close', () => {
      settle();
      this.fail('connection closed');
    });
  }

  send(h: Header, payload?: Uint8Array, done?: (err?: Error) => void): void {
    if (this.dead !== undefined) return done?.(new Error(this.dead));
    if (this.ready) return this.writer!.write(h, payload, done);
    // Copy small payloads now so the caller may reuse its memory before the socket opens.
    if (payload && payload.byteLength <= INLINE_MAX) {
      this.queue.push([h, Buffer.from(payload), undefined]);
      done?.();
    } else this.queue.push([h, payload, done]);
  }

  private fail(why: string): void {
    if (this.dead !== undefined) return;
    this.dead = why;
    const q = this.queue;
    this.queue = [];
    for (const [, , d] of q) d?.(new Error(why));
    this.ws?.terminate();
    this.mesh.linkLost(this.peer, this, why);
  }

  close(): Promise<void> {
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

export class WsMesh implements Links {
  private readonly servers: Server[] = [];
  private readonly wss = new WebSocketServer({ noServer: true, ...wsOptions, clientTracking: false });
  private readonly out = new Map<number, OutLink>();
  private readonly inbound = new Map<number, Set<WebSocket>>();
  private peers: readonly PeerAddress[] = [];
  private closing = false;
  unixPath: string | undefined;
  tcpAddress = '';

  constructor(readonly opts: MeshOptions, readonly events: LinkEvents) {}

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
    const deadline = setTimeout(() => ws.terminate(), AUTH_DEADLINE_MS);
    deadline.unref();
    ws.on('error', () => ws.terminate());
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (recv) return recv.onMessage(data);
      const ok = isBinary ? verify(this.opts.secret, nonce, data, this.opts.size) : undefined;
      if (!ok) {
        clearTimeout(deadline);
        ws.terminate(); // nothing reaches the program from an unproven socket
        return;
      }
      clearTimeout(deadline);
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
    });
    ws.on('close', () => {
      clearTimeout(deadline);
      if (from < 0) return;
      this.inbound.get(from)?.delete(ws);
      if (!this.closing) this.events.lost(from, 'connection closed');
    });
    ws.send(challenge(nonce));
  }

  setPeers(peers: readonly PeerAddress[]): void {
    this.peers = peers;
  }

  private urlOf(peer: number): string {
    const p = this.peers[peer];
    if (!p) throw new Error(`no address for rank ${peer}`);
    if (p.unix && p.host === this.opts.host && this.opts.unix && existsSync(p.unix)) return `ws+unix://${p.unix}:/`;
    return `ws://${p.tcp}/`;
  }

  to(peer: number): Link {
    let l = this.out.get(peer);
    if (!l) this.out.set(peer, (l = new OutLink(this, peer, this.urlOf(peer))));
    return l;
  }

  linkLost(peer: number, link: OutLink, why: string): void {
    if (this.out.get(peer) === link) this.out.delete(peer);
    if (!this.closing) this.events.lost(peer, why);
  }

  hasInbound(peer: number): boolean {
    return (this.inbound.get(peer)?.size ?? 0) > 0;
  }

  async close(): Promise<void> {
    // Let links still opening deliver what they queued, then close everything.
    await Promise.race([Promise.all([...this.out.values()].map((l) => l.opened)), new Promise((r) => setTimeout(r, 2000).unref())]);
    this.closing = true;
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
