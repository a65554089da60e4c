// Rank side of the coordinator: read the job secret from the launcher's pipe, register
// with the coordinator (proving the secret, and checking the coordinator proves it too),
// receive the peer table, then hear about exits and aborts.
import { connect, Socket } from 'node:net';
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
}

export interface ConnectOptions {
  coord: string;
  secret: Buffer;
  rank: number;
  size: number;
  info: unknown;
  timeoutMs: number;
}

// ---- the launcher pipe (fd ORCHID_SECRET_FD): the secret, then EOF when the proxy dies ----

let link: Socket | undefined;
let secretPromise: Promise<Buffer> | undefined;
let linkEnded = false;
const onLinkEnd: Array<() => void> = [];

function openLink(): Socket {
  if (link) return link;
  const fdText = process.env.ORCHID_SECRET_FD;
  if (fdText === undefined || fdText === '') {
    throw new OrchidError('ERR_AUTH', 'readSecret: ORCHID_SECRET_FD is not set (was this rank started by orchidrun?)');
  }
  const fd = Number(fdText);
  if (!Number.isInteger(fd) || fd < 0) throw new OrchidError('ERR_AUTH', `readSecret: ORCHID_SECRET_FD=${fdText} is not a file descriptor`);
  let sock: Socket;
  try {
    sock = new Socket({ fd, readable: true, writable: false });
  } catch (e) {
    throw new OrchidError('ERR_AUTH', `readSecret: cannot open fd ${fd} from ORCHID_SECRET_FD: ${(e as Error).message}`, { cause: e });
  }
  sock.on('error', () => {});
  const ended = (): void => {
    if (linkEnded) return;
    linkEnded = true;
    for (const cb of onLinkEnd.splice(0)) cb();
  };
  sock.on('end', ended);
  sock.on('close', ended);
  link = sock;
  return sock;
}

/** The job secret, from the pipe the proxy passed on fd ORCHID_SECRET_FD. */
export function readSecret(): Promise<Buffer> {
  if (secretPromise) return secretPromise;
  secretPromise = new Promise<Buffer>((resolve, reject) => {
    let sock: Socket;
    try {
      sock = openLink();
    } catch (e) {
      reject(e);
      return;
    }
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      sock.off('data', onData);
      // Keep reading (and discarding) so EOF is seen, without keeping the rank alive.
      sock.on('data', () => {});
      sock.unref();
      const secret = Buffer.from(text.slice(0, nl), 'base64');
      if (secret.length === 0) reject(new OrchidError('ERR_AUTH', 'readSecret: the launcher sent an empty secret'));
      else resolve(secret);
    };
    sock.on('data', onData);
    onLinkEnd.push(() => reject(new OrchidError('ERR_AUTH', 'readSecret: the launcher pipe closed before the secret arrived')));
  });
  return secretPromise;
}

/** Exit(1) when the launcher pipe reaches EOF (the proxy is gone). Does not keep the rank alive. */
export function watchLauncher(rank: number): void {
  let sock: Socket;
  try {
    sock = openLink();
  } catch {
    return; // not under a launcher: nothing to watch
  }
  const gone = (): void => {
    try {
      process.stderr.write(`orchid: rank ${rank}: launcher is gone, exiting\n`);
    } catch {
      // stderr went with the launcher
    }
    process.exit(1);
  };
  if (linkEnded) {
    gone();
    return;
  }
  onLinkEnd.push(gone);
  if (!secretPromise) sock.on('data', () => {});
  sock.unref();
}

// ---- the coordinator connection ----

type Listener = (...args: never[]) => void;

class Client implements CoordClient {
  table: unknown[] = [];
  private readonly listeners = new Map<string, Listener[]>();
  // Events with no listener yet are held, so nothing is lost between connect and on().
  private readonly held = new Map<string, unknown[][]>();
  private closing = false;
  private aborted = false;

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
    if (msg.t === 'exit') this.emit('exit', msg.rank, msg.code ?? null, msg.signal ?? null);
    else if (msg.t === 'abort') {
      this.aborted = true;
      this.emit('abort', msg.code, msg.reason);
    }
  }

  closed(): void {
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
