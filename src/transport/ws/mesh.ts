// The WebSocket mesh: each rank listens on one TCP port (and a Unix socket for peers on
// its host); a connection to a peer opens on the first send (or for every peer at init, see
// connectAll) and carries that rank's messages to the peer in order. Replies of the protocol
// (CTS, CREDIT) travel back on the same socket. The outbound side (OutLink, its connect retry,
// FrameWriter) is out-link.ts; this file listens, admits and accepts: a port holds few
// connections that have not proved the job secret, and not for long.
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
import { FrameReader } from './framing.js';
import { challenge, HOST_ORDER, newNonce, orderName, verify } from './handshake.js';
import { closeSocket, CONNECT_TIMEOUT_MS, FrameWriter, JOB_HEADER, liftPayloadLimit, OutLink, readDirect, wsOptions } from './out-link.js';

export { CONNECT_RETRY_FIRST_MS, CONNECT_RETRY_MAX_MS, CONNECT_TIMEOUT_MS } from './out-link.js';

/** A connection to a rank's port must prove the job secret within this time from its TCP
 *  accept (covering the HTTP upgrade and the handshake), else it is closed. */
export const AUTH_DEADLINE_MS = 5000;
/** If the deadline's timer fires this late, the rank's event loop was blocked (a long
 *  computation) and the peer had no chance to answer: it gets another full deadline. */
const AUTH_LAG_MS = 1000;
/** Connections accepted but not yet authenticated that a rank holds at once (TCP and Unix
 *  socket together); beyond, new ones are closed at once. A refused peer retries. */
export const AUTH_PENDING_MAX = 128;

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
    let mismatched = false;
    ws.on('error', () => ws.terminate());
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (recv) return recv.onMessage(data);
      if (mismatched) return;
      const ok = isBinary ? verify(this.opts.secret, nonce, data, this.opts.size) : undefined;
      if (!ok) {
        ws.terminate(); // nothing reaches the program from an unproven socket
        return;
      }
      this.proven(sock);
      if (ok.order !== HOST_ORDER) {
        // the peer learns ours from the accept and reports it too; nothing of it is read
        mismatched = true;
        ws.send(ok.accept);
        ws.close();
        const err = this.orderError(ok.rank, ok.order);
        if (this.opts.fatal) this.opts.fatal(err);
        else this.events.lost(ok.rank, err.message);
        return;
      }
      liftPayloadLimit(ws);
      from = ok.rank;
      ws.send(ok.accept);
      let set = this.inbound.get(from);
      if (!set) this.inbound.set(from, (set = new Set()));
      set.add(ws);
      const link = new InLink(ws, sock);
      const lost = (why: string): void => {
        ws.terminate();
        this.events.lost(from, `protocol error: ${why}`);
      };
      recv = new FrameReader(from, link, this.events, lost);
      const r = recv;
      readDirect(ws, sock, (m) => r.onMessage(m), lost);
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

  /**
   * `peer` stated byte order `theirs` in the handshake, not ours: typed arrays would arrive
   * byte-swapped, so the job cannot go on: the error that says so, naming both ranks and hosts.
   */
  orderError(peer: number, theirs: number): OrchidError {
    const { rank, host } = this.opts;
    return new OrchidError(
      'ERR_TRANSPORT',
      `connect: rank ${rank} on ${host} is ${orderName(HOST_ORDER)} (${process.arch}), but ${this.describe(peer)} is ${orderName(theirs)}: ` +
        `the ws transport carries typed arrays as the sender's raw bytes, so every host of a job must have the same byte order ` +
        `(x64 and arm64 are both little-endian); run the job on hosts of one byte order`,
    );
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
