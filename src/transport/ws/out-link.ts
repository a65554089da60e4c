// The outbound side of the WebSocket mesh: the link that carries this rank's messages to one
// peer (OutLink), its connect with retry and backoff for passing failures (PASSING, classify),
// and the writer that puts our frames straight onto a connection's socket (FrameWriter, used by
// both sides). Listening, admitting and accepting connections is mesh.ts.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { OrchidError } from '../../errors.js';
import type { Header } from '../frame.js';
import type { Link } from '../links.js';
import { encodeFrame, encodeInline, FrameReader, INLINE_MAX, SCRATCH_BYTES } from './framing.js';
import { Deframer } from './deframe.js';
import { accepted, HOST_ORDER, respond } from './handshake.js';
import type { WsMesh } from './mesh.js';

/** A connect that fails for a passing reason is retried after this, doubling up to
 *  CONNECT_RETRY_MAX_MS, until the connect timeout (ORCHID_CONNECT_TIMEOUT) has passed. */
export const CONNECT_RETRY_FIRST_MS = 20;
export const CONNECT_RETRY_MAX_MS = 1000;
/** Default of MeshOptions.connectTimeoutMs (ORCHID_CONNECT_TIMEOUT). */
export const CONNECT_TIMEOUT_MS = 30_000;
/** Largest message before the peer is authenticated: the handshake's are under 100 bytes. */
const PRE_AUTH_PAYLOAD = 1024;
export const JOB_HEADER = 'x-orchid-job';

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

export const wsOptions = { perMessageDeflate: false, maxPayload: PRE_AUTH_PAYLOAD, skipUTF8Validation: true } as const;

/**
 * Lift the message size limit once the peer proved the secret. Until then ws refuses (1009)
 * any message over PRE_AUTH_PAYLOAD, so an unauthenticated client cannot make it buffer a
 * huge one. ws reads the limit per frame from its receiver; it has no public setter, so this
 * sets the receiver's field (0 = no limit, what ws uses for a large maxPayload too).
 */
export function liftPayloadLimit(ws: WebSocket): void {
  (ws as unknown as { _receiver: { _maxPayload: number } })._receiver._maxPayload = 0;
}

/**
 * From now on read `ws`'s socket ourselves (deframe.ts) instead of through ws's receiver:
 * binary messages go to `message`, control frames (close, ping) back to ws's receiver so its
 * close handshake still works. Called once the peer proved the secret, in the handler of the
 * handshake's last message; nothing of the peer's follows that message before our reply, so
 * the receiver holds no bytes (if it does, or ws is not as expected, ws keeps reading and
 * this returns false).
 */
export function readDirect(ws: WebSocket, sock: Socket, message: (data: Buffer) => void, fail: (why: string) => void): boolean {
  const receiver = (ws as unknown as { _receiver?: { _bufferedBytes?: number; write(b: Buffer): boolean } })._receiver;
  if (!receiver || receiver._bufferedBytes !== 0) return false;
  const theirs = sock.listeners('data').find((f) => f.name === 'socketOnData') as ((b: Buffer) => void) | undefined;
  if (!theirs) return false;
  const d = new Deframer({ message, control: (frame) => receiver.write(frame), fail });
  sock.removeListener('data', theirs);
  sock.on('data', (chunk: Buffer) => d.push(chunk));
  sock.once('close', () => d.stop());
  return true;
}

/**
 * Writes our frames as WebSocket frames straight onto the connection's socket (framing.ts
 * makes the bytes): a small frame is one buffer and one write; a large payload is a second
 * frame written from the caller's memory. (ws's own sender would issue a writev of two
 * buffers per message; its receiver still parses everything that arrives.)
 */
export class FrameWriter {
  /** Where small frames are put together; reused while the socket takes each write whole at
   *  once (the usual case), replaced when a write stays queued (it still refers to it). */
  private scratch: Buffer | undefined;

  constructor(private readonly sock: Socket, private readonly masked: boolean) {}

  unref(): void {
    this.sock.unref();
  }

  write(h: Header, payload: Uint8Array | undefined, done?: (err?: Error) => void): void {
    const sock = this.sock;
    const plen = payload ? payload.byteLength : 0;
    if (plen <= INLINE_MAX) {
      const scratch = (this.scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES));
      const n = encodeInline(scratch, h, payload, this.masked);
      sock.write(scratch.subarray(0, n));
      // Queued rather than written: the socket holds on to this memory.
      if (sock.writableLength > 0) this.scratch = undefined;
      done?.();
      return;
    }
    const f = encodeFrame(h, payload, this.masked);
    sock.cork();
    sock.write(f.head);
    sock.write(f.payload!, done ? (err) => done(err ?? undefined) : undefined);
    sock.uncork();
  }
}

/** The channel of this rank's messages to one peer: queues until connected and authenticated.
 *  A connect that fails for a passing reason (see PASSING, a connection closed before the
 *  handshake began, the peer's port refusing beyond AUTH_PENDING_MAX) is retried with backoff,
 *  keeping the queue; after the connect timeout the link gives up (WsMesh.fatal if messages are
 *  queued, else quietly: a later send opens a new link). */
export class OutLink implements Link {
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
      const order = accepted(mesh.opts.secret, nonce, data);
      if (order === undefined) return this.fail(`rank ${peer} could not prove the job secret`);
      if (order !== HOST_ORDER) return this.abandon(mesh.orderError(peer, order));
      liftPayloadLimit(ws);
      const sock = (ws as unknown as { _socket: Socket })._socket;
      readDirect(ws, sock, (m) => recv.onMessage(m), (why) => this.fail(`protocol error from rank ${peer}: ${why}`));
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
    this.abandon(new OrchidError('ERR_TRANSPORT', `send: ${msg}; ${n} message${n === 1 ? '' : 's'} not delivered`));
  }

  /** The job cannot go on over this link (`err`): its queued sends fail with it, then WsMesh.fatal (else the peer is lost). */
  private abandon(err: OrchidError): void {
    const mesh = this.mesh;
    if (mesh.opts.fatal) {
      this.dead = err.message;
      if (this.retry) clearTimeout(this.retry);
      const q = this.queue;
      this.queue = [];
      for (const [, , d] of q) d?.(err);
      this.ws?.terminate();
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
export function closeSocket(ws: WebSocket): Promise<void> {
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
