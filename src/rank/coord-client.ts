// The rank's end of the coordinator connection (the server is src/launcher/coordinator.ts;
// the wire protocol is src/launcher/coord-proto.ts): register with the coordinator (proving
// the job secret, and checking the coordinator proves it too), receive the peer table, then
// hear about exits and aborts.
import { connect, type Socket } from 'node:net';
import { OrchidError } from '../errors.js';
import { checkProof, newNonce, proof } from '../transport/auth.js';
import { LineSplitter } from '../launcher/lines.js';
import { MAX_LINE, parseHostPort, ROLE_CLIENT, ROLE_SERVER } from '../launcher/coord-proto.js';

export interface CoordClient {
  /** Peers' info, index = rank. */
  readonly table: unknown[];
  on(event: 'exit', cb: (rank: number, code: number | null, signal: string | null) => void): void;
  on(event: 'abort', cb: (code: number, reason: string) => void): void;
  /** The coordinator connection was lost unexpectedly (launcher died). */
  on(event: 'lost', cb: () => void): void;
  /** Ask the launcher to end the job with `code`; resolves once sent (flushed). */
  abort(code: number, message: string): Promise<void>;
  /** Clean close at finalize (no 'lost' event). */
  close(): void;
  /** The launcher's clock (epoch ms) when it answered one ping. */
  ping(): Promise<number>;
  /** One line to the coordinator (trace and live reports); false when it could not be queued or too much is queued. */
  post(msg: Record<string, unknown>): boolean;
  /** Resolves once everything posted so far is written to the socket. */
  flush(): Promise<void>;
}

/** Bytes queued on the coordinator connection past which post() refuses (trace chunks are dropped). */
const POST_HIGH_WATER = 64 * 1024 * 1024;
/** A clock ping not answered in this time fails (the clock stays unaligned). */
const PING_TIMEOUT_MS = 5000;

export interface ConnectOptions {
  coord: string;
  secret: Buffer;
  rank: number;
  size: number;
  info: unknown;
  timeoutMs: number;
}

type Listener = (...args: never[]) => void;

class Client implements CoordClient {
  table: unknown[] = [];
  private readonly listeners = new Map<string, Listener[]>();
  // Events with no listener yet are held, so nothing is lost between connect and on().
  private readonly held = new Map<string, unknown[][]>();
  private closing = false;
  private aborted = false;
  private pings = new Map<number, { resolve: (now: number) => void; reject: (e: Error) => void }>();
  private pingId = 0;

  constructor(private readonly sock: Socket) {}

  on(event: 'exit' | 'abort' | 'lost', cb: Listener): void {
    const list = this.listeners.get(event) ?? [];
    list.push(cb);
    this.listeners.set(event, list);
    const held = this.held.get(event);
    if (held) {
      this.held.delete(event);
      for (const args of held) (cb as (...a: unknown[]) => void)(...args);
    }
  }

  emit(event: string, ...args: unknown[]): void {
    const list = this.listeners.get(event);
    if (!list || list.length === 0) {
      const held = this.held.get(event) ?? [];
      held.push(args);
      this.held.set(event, held);
      return;
    }
    for (const cb of list) (cb as (...a: unknown[]) => void)(...args);
  }

  message(msg: Record<string, unknown>): void {
    if (msg.t === 'pong') {
      const p = this.pings.get(msg.id as number);
      this.pings.delete(msg.id as number);
      if (this.pings.size === 0) this.sock.unref();
      p?.resolve(Number(msg.now));
    } else if (msg.t === 'exit') this.emit('exit', msg.rank, msg.code ?? null, msg.signal ?? null);
    else if (msg.t === 'abort') {
      this.aborted = true;
      this.emit('abort', msg.code, msg.reason);
    }
  }

  closed(): void {
    for (const p of this.pings.values()) p.reject(new OrchidError('ERR_TRANSPORT', 'the coordinator connection closed during a clock ping'));
    this.pings.clear();
    if (!this.closing && !this.aborted) this.emit('lost');
  }

  abort(code: number, message: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.sock.destroyed || !this.sock.writable) {
        reject(new OrchidError('ERR_TRANSPORT', `abort(${code}): the coordinator connection is closed`));
        return;
      }
      this.sock.write(JSON.stringify({ t: 'abort', code, message }) + '\n', (err) =>
        err ? reject(new OrchidError('ERR_TRANSPORT', `abort(${code}): ${err.message}`, { cause: err })) : resolve(),
      );
    });
  }

  ping(): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.sock.destroyed || !this.sock.writable) {
        reject(new OrchidError('ERR_TRANSPORT', 'init: the coordinator connection is closed'));
        return;
      }
      const id = ++this.pingId;
      const timer = setTimeout(() => {
        if (!this.pings.delete(id)) return;
        if (this.pings.size === 0) this.sock.unref();
        reject(new OrchidError('ERR_TIMEOUT', `the coordinator did not answer a clock ping within ${PING_TIMEOUT_MS / 1000} s`));
      }, PING_TIMEOUT_MS);
      this.pings.set(id, {
        resolve: (now) => {
          clearTimeout(timer);
          resolve(now);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.sock.ref(); // the answer keeps this rank alive
      this.sock.write(JSON.stringify({ t: 'ping', id }) + '\n');
    });
  }

  post(msg: Record<string, unknown>): boolean {
    if (this.sock.destroyed || !this.sock.writable || this.sock.writableLength > POST_HIGH_WATER) return false;
    this.sock.write(JSON.stringify(msg) + '\n');
    return true;
  }

  flush(): Promise<void> {
    if (this.sock.destroyed || !this.sock.writable) return Promise.resolve();
    return new Promise((resolve) => this.sock.write('', () => resolve()));
  }

  close(): void {
    this.closing = true;
    this.sock.end();
    this.sock.destroy();
  }
}

/** Register this rank with the coordinator; resolves with the peer table in place. */
export function connectCoordinator(opts: ConnectOptions): Promise<CoordClient> {
  const { rank, size } = opts;
  const where = `connectCoordinator: rank ${rank}`;
  const addr = parseHostPort(opts.coord);
  if (!addr) return Promise.reject(new OrchidError('ERR_TRANSPORT', `${where}: bad coordinator address ${JSON.stringify(opts.coord)} (want host:port)`));

  return new Promise<CoordClient>((resolve, reject) => {
    let stage = `a connection to the coordinator at ${opts.coord}`;
    let settled = false;
    const sock = connect({ host: addr.host, port: addr.port });
    sock.setNoDelay(true);
    const client = new Client(sock);
    const myNonce = newNonce();
    let serverProved = false;

    const fail = (err: OrchidError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      reject(err);
    };
    const timer = setTimeout(
      () => fail(new OrchidError('ERR_TIMEOUT', `${where}: timed out after ${opts.timeoutMs / 1000} s waiting for ${stage}`)),
      opts.timeoutMs,
    );

    const onLine = (line: Buffer): void => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line.toString('utf8')) as Record<string, unknown>;
      } catch {
        fail(new OrchidError('ERR_TRANSPORT', `${where}: unreadable message from the coordinator at ${opts.coord}`));
        return;
      }
      if (settled) {
        client.message(msg);
        return;
      }
      switch (msg.t) {
        case 'hello': {
          const nonce = Buffer.from(String(msg.nonce ?? ''), 'base64');
          sock.write(
            JSON.stringify({
              t: 'register',
              rank,
              nonce: myNonce.toString('base64'),
              proof: proof(opts.secret, nonce, ROLE_CLIENT).toString('base64'),
              info: opts.info,
            }) + '\n',
          );
          stage = `the coordinator at ${opts.coord} to accept rank ${rank}`;
          break;
        }
        case 'welcome':
          if (!checkProof(opts.secret, myNonce, ROLE_SERVER, Buffer.from(String(msg.proof ?? ''), 'base64'))) {
            fail(new OrchidError('ERR_AUTH', `${where}: the coordinator at ${opts.coord} failed to prove the job secret`));
            return;
          }
          serverProved = true;
          stage = `the peer table (all ${size} ranks must call init())`;
          break;
        case 'table':
          if (!serverProved) break;
          if (!Array.isArray(msg.peers) || msg.peers.length !== size) {
            fail(new OrchidError('ERR_TRANSPORT', `${where}: the coordinator sent a table of ${Array.isArray(msg.peers) ? msg.peers.length : 'no'} peers, expected ${size}`));
            return;
          }
          client.table = msg.peers;
          settled = true;
          clearTimeout(timer);
          sock.unref(); // from here on the rank's own work decides how long it lives
          resolve(client);
          break;
        case 'init-failed':
          if (!serverProved) break;
          fail(new OrchidError('ERR_PEER_LOST', `${where}: init failed: ${String(msg.reason ?? `rank ${String(msg.rank)} is gone`)}`));
          break;
        case 'abort':
          if (!serverProved) break;
          fail(new OrchidError('ERR_ABORTED', `${where}: the job is being aborted: ${String(msg.reason ?? '')}`));
          break;
      }
    };
    const lines = new LineSplitter(onLine, MAX_LINE);
    sock.on('data', (chunk: Buffer) => lines.push(chunk));
    sock.on('error', (err) => {
      const during = stage.startsWith('a connection') ? 'cannot connect to' : 'lost the connection to';
      fail(new OrchidError('ERR_TRANSPORT', `${where}: ${during} the coordinator at ${opts.coord}: ${err.message}`, { cause: err }));
    });
    sock.on('close', () => {
      if (settled) {
        client.closed();
        return;
      }
      if (stage.startsWith('the coordinator') && !serverProved) {
        fail(new OrchidError('ERR_AUTH', `${where}: the coordinator at ${opts.coord} closed the connection during authentication (wrong job secret?)`));
      } else {
        fail(new OrchidError('ERR_TRANSPORT', `${where}: the coordinator at ${opts.coord} closed the connection while waiting for ${stage}`));
      }
    });
  });
}
