// The job's coordinator, a TCP server in the launcher: authenticates each rank with the
// job secret (challenge-response both ways), hands out the peer table once all ranks have
// registered, relays abort requests to the launcher and process exits to the ranks; answers
// clock pings (the ranks align wtime() to the launcher's clock) and hands the ranks' trace
// and live reports (orchidrun --trace / --profile / --live) to the launcher.
import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { checkProof, newNonce, proof, NONCE_BYTES } from '../transport/auth.js';
import { LineSplitter } from './lines.js';
import { formatHostPort, MAX_LINE, MAX_UNAUTH_LINE, ROLE_CLIENT, ROLE_SERVER } from './coord-proto.js';

export interface CoordinatorOptions {
  secret: Buffer;
  size: number;
  /** Address to bind and advertise (127.0.0.1 for a job on this host). */
  host?: string;
  /** Port to bind; 0 (default) for an ephemeral one. */
  port?: number;
  /** A connection that has not registered within this time is closed. */
  authTimeoutMs?: number;
}

interface Conn {
  sock: Socket;
  rank: number | null;
}

export interface CoordinatorEvents {
  register: [rank: number, info: unknown];
  table: [peers: unknown[]];
  abort: [rank: number, code: number, message: string];
  /** a rank's trace, trace-end or live line (see-inside.ts) */
  report: [rank: number, msg: Record<string, unknown>];
}

export class Coordinator extends EventEmitter<CoordinatorEvents> {
  readonly size: number;
  private readonly secret: Buffer;
  private readonly host: string;
  private readonly port: number;
  private readonly authTimeoutMs: number;
  private server: Server | undefined;
  private readonly conns = new Set<Conn>();
  private readonly byRank = new Map<number, Conn>();
  private readonly infos: unknown[];
  private tableSent = false;
  private initFailed: { rank: number; code: number | null; reason: string } | undefined;
  private aborted: { code: number; reason: string } | undefined;
  private addr = '';

  constructor(opts: CoordinatorOptions) {
    super();
    this.secret = opts.secret;
    this.size = opts.size;
    this.host = opts.host ?? '127.0.0.1';
    this.port = opts.port ?? 0;
    this.authTimeoutMs = opts.authTimeoutMs ?? 10_000;
    this.infos = new Array(opts.size);
  }

  /** host:port that ranks connect to (after start()). */
  get address(): string {
    return this.addr;
  }

  get registered(): number {
    return this.byRank.size;
  }

  start(): Promise<string> {
    return new Promise((resolve, reject) => {
      const server = createServer((sock) => this.accept(sock));
      this.server = server;
      server.once('error', (e) => reject(new Error(`coordinator: cannot listen on ${this.host}: ${e.message}`)));
      server.listen(this.port, this.host, () => {
        const a = server.address();
        const port = typeof a === 'object' && a ? a.port : this.port;
        this.addr = formatHostPort(this.host, port);
        resolve(this.addr);
      });
    });
  }

  private accept(sock: Socket): void {
    const conn: Conn = { sock, rank: null };
    this.conns.add(conn);
    sock.setNoDelay(true);
    sock.on('error', () => {});
    const nonce = newNonce();
    const timer = setTimeout(() => sock.destroy(), this.authTimeoutMs);
    timer.unref();
    const onLine = (line: Buffer): void => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line.toString('utf8')) as Record<string, unknown>;
      } catch {
        sock.destroy();
        return;
      }
      if (conn.rank === null) {
        // Anything but a valid register first: close, say nothing.
        if (!this.register(conn, msg, nonce)) {
          sock.destroy();
          return;
        }
        clearTimeout(timer);
        lines.maxLine = MAX_LINE; // now trusted
        return;
      }
      if (msg.t === 'ping') {
        // answered at once: the rank takes the midpoint of its round trip as this moment
        this.send(conn, { t: 'pong', id: msg.id, now: performance.timeOrigin + performance.now() });
        return;
      }
      if (msg.t === 'trace' || msg.t === 'trace-end' || msg.t === 'live') {
        this.emit('report', conn.rank, msg);
        return;
      }
      if (msg.t === 'abort') {
        const code = Number.isInteger(msg.code) ? (msg.code as number) : 1;
        this.emit('abort', conn.rank, code, typeof msg.message === 'string' ? msg.message : '');
      }
    };
    // An oversized unauthenticated line is handed on in pieces, which fail to parse: closed.
    const lines = new LineSplitter(onLine, MAX_UNAUTH_LINE);
    sock.on('data', (chunk: Buffer) => {
      if (!sock.destroyed) lines.push(chunk);
    });
    sock.on('close', () => {
      clearTimeout(timer);
      this.conns.delete(conn);
      if (conn.rank !== null && this.byRank.get(conn.rank) === conn) this.byRank.delete(conn.rank);
    });
    this.send(conn, { t: 'hello', nonce: nonce.toString('base64') });
  }

  private register(conn: Conn, msg: Record<string, unknown>, nonce: Buffer): boolean {
    if (msg.t !== 'register') return false;
    const { rank } = msg;
    if (typeof rank !== 'number' || !Number.isInteger(rank) || rank < 0 || rank >= this.size) return false;
    if (typeof msg.proof !== 'string' || typeof msg.nonce !== 'string') return false;
    const clientNonce = Buffer.from(msg.nonce, 'base64');
    if (clientNonce.length !== NONCE_BYTES) return false;
    if (!checkProof(this.secret, nonce, ROLE_CLIENT, Buffer.from(msg.proof, 'base64'))) return false;
    if (this.byRank.has(rank) || this.infos[rank] !== undefined) return false; // a rank registers once
    conn.rank = rank;
    this.byRank.set(rank, conn);
    this.infos[rank] = msg.info ?? null;
    this.send(conn, { t: 'welcome', proof: proof(this.secret, clientNonce, ROLE_SERVER).toString('base64') });
    this.emit('register', rank, this.infos[rank]);
    if (this.aborted) {
      this.send(conn, { t: 'abort', ...this.aborted });
    } else if (this.initFailed) {
      this.send(conn, { t: 'init-failed', ...this.initFailed });
    } else if (this.byRank.size === this.size && !this.tableSent) {
      this.tableSent = true;
      const peers = [...this.infos];
      for (const c of this.byRank.values()) this.send(c, { t: 'table', peers });
      this.emit('table', peers);
    }
    return true;
  }

  private send(conn: Conn, msg: unknown): void {
    if (!conn.sock.destroyed && conn.sock.writable) conn.sock.write(JSON.stringify(msg) + '\n');
  }

  private broadcast(msg: unknown, except?: number): void {
    for (const c of this.byRank.values()) if (c.rank !== except) this.send(c, msg);
  }

  /** A rank process has exited: tell the others; before the table, init cannot complete. */
  rankExited(rank: number, code: number | null, signal: string | null): void {
    if (!this.tableSent && !this.initFailed && !this.aborted) {
      const how = signal ? `was killed by signal ${signal}` : `exited with code ${code}`;
      this.initFailed = { rank, code, reason: `rank ${rank} ${how} before the job finished init()` };
      this.broadcast({ t: 'init-failed', ...this.initFailed }, rank);
      return;
    }
    this.broadcast({ t: 'exit', rank, code, signal }, rank);
  }

  /** The job is being torn down. */
  abortAll(code: number, reason: string): void {
    if (this.aborted) return;
    this.aborted = { code, reason };
    this.broadcast({ t: 'abort', code, reason });
  }

  close(): Promise<void> {
    for (const c of this.conns) c.sock.destroy();
    this.conns.clear();
    const server = this.server;
    this.server = undefined;
    return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}
