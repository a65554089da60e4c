// The incoming WebSocket frames (RFC 6455 §5.2) of one authenticated connection, read straight
// from the socket's chunks, apart from any socket: once a peer has proved the job secret
// (mesh.ts, out-link.ts) its bytes no longer go through the ws library's receiver (a Writable
// stream with a buffer list of its own) but through Deframer.push, one call per chunk.
//
// A message whole in a chunk is handed on as a view of the chunk (no copy); one that spans
// chunks is gathered into a buffer of exactly its size, allocated once its length is known.
// Control frames (close, ping, pong) are passed back, unmasked, for the ws library to handle
// (its close handshake). Text, fragmented or reserved-bit frames are protocol errors.

const OP_BINARY = 2;
const OP_CLOSE = 8;
/** Largest WebSocket header: 2 bytes, 8 of extended length, 4 of mask key. */
const WS_HEAD_MAX = 14;

export interface DeframerEvents {
  /** one binary message (a view valid until the next call: keep it or copy it) */
  message(data: Buffer): void;
  /** a control frame, re-encoded with a zero mask key when it was masked */
  control(frame: Buffer): void;
  /** the bytes broke the protocol; nothing more is read */
  fail(why: string): void;
}

export class Deframer {
  /** a WebSocket header split across chunks */
  private readonly head = Buffer.alloc(WS_HEAD_MAX);
  private headLen = 0;
  /** inside a frame's payload: bytes still to come */
  private left = -1;
  private opcode = 0;
  private masked = false;
  /** the frame's mask key (0 from orchid peers) */
  private key = 0;
  /** payload bytes of the current frame already seen (for the mask's phase) */
  private seen = 0;
  /** a payload that spans chunks, being gathered */
  private gather: Buffer | undefined;
  private stopped = false;

  constructor(private readonly events: DeframerEvents, private readonly maxPayload = Number.MAX_SAFE_INTEGER) {}

  /** Read one chunk of the socket. The chunk becomes the Deframer's: a masked payload is
   *  unmasked in place, and messages handed on may be views of it. */
  push(chunk: Buffer): void {
    let off = 0;
    const n = chunk.length;
    while (off < n && !this.stopped) {
      if (this.left < 0) {
        off = this.readHead(chunk, off);
        continue;
      }
      off = this.readPayload(chunk, off);
    }
  }

  /** Stop reading (the connection is closing or failed). */
  stop(): void {
    this.stopped = true;
    this.gather = undefined;
  }

  private readHead(chunk: Buffer, off: number): number {
    const avail = chunk.length - off;
    if (this.headLen === 0 && avail >= 2) {
      const need = headBytes(chunk[off + 1]!);
      if (avail >= need) {
        this.begin(chunk, off);
        return off + need;
      }
    }
    // the header spans chunks: gather it in `head`
    let i = off;
    while (i < chunk.length) {
      this.head[this.headLen++] = chunk[i++]!;
      if (this.headLen >= 2 && this.headLen === headBytes(this.head[1]!)) {
        this.headLen = 0;
        this.begin(this.head, 0);
        break;
      }
    }
    return i;
  }

  /** A whole WebSocket header at `buf[off]`. */
  private begin(buf: Buffer, off: number): void {
    const b0 = buf[off]!;
    const b1 = buf[off + 1]!;
    const op = b0 & 0x0f;
    if ((b0 & 0x70) !== 0) return this.error('reserved bits set');
    if ((b0 & 0x80) === 0 || op === 0) return this.error('fragmented message');
    if (op !== OP_BINARY && op < OP_CLOSE) return this.error(op === 1 ? 'text message' : `unknown opcode ${op}`);
    let len = b1 & 0x7f;
    let p = off + 2;
    if (len === 126) {
      len = buf.readUInt16BE(p);
      p += 2;
    } else if (len === 127) {
      const hi = buf.readUInt32BE(p);
      if (hi > 0x1fffff) return this.error('frame length beyond 2^53');
      len = hi * 2 ** 32 + buf.readUInt32BE(p + 4);
      p += 8;
    }
    if (op >= OP_CLOSE && len > 125) return this.error('control frame over 125 bytes');
    if (len > this.maxPayload) return this.error(`frame of ${len} bytes`);
    this.masked = (b1 & 0x80) !== 0;
    this.key = this.masked ? buf.readUInt32BE(p) : 0;
    this.opcode = op;
    this.left = len;
    this.seen = 0;
    if (len === 0) this.finish(EMPTY);
  }

  private readPayload(chunk: Buffer, off: number): number {
    const avail = chunk.length - off;
    const left = this.left;
    if (!this.gather && avail >= left) {
      // whole in this chunk: a view
      const data = chunk.subarray(off, off + left);
      if (this.key !== 0) unmask(data, this.key, 0);
      this.finish(data);
      return off + left;
    }
    const take = Math.min(avail, left);
    if (!this.gather) this.gather = Buffer.allocUnsafeSlow(left);
    const g = this.gather;
    const at = this.seen;
    chunk.copy(g, at, off, off + take);
    if (this.key !== 0) unmask(g.subarray(at, at + take), this.key, at);
    this.seen += take;
    this.left -= take;
    if (this.left === 0) {
      this.gather = undefined;
      this.finish(g);
    }
    return off + take;
  }

  private finish(data: Buffer): void {
    this.left = -1;
    if (this.opcode === OP_BINARY) return this.events.message(data);
    // a control frame: re-encode it for the ws library (a server expects the mask bit)
    const m = this.masked ? 4 : 0;
    const frame = Buffer.alloc(2 + m + data.length);
    frame[0] = 0x80 | this.opcode;
    frame[1] = (this.masked ? 0x80 : 0) | data.length;
    data.copy(frame, 2 + m);
    if (this.opcode === OP_CLOSE) this.stopped = true; // nothing follows a close frame
    this.events.control(frame);
  }

  private error(why: string): void {
    this.stop();
    this.events.fail(why);
  }
}

const EMPTY = Buffer.alloc(0);

/** Bytes of a WebSocket header whose second byte is `b1`. */
function headBytes(b1: number): number {
  const l = b1 & 0x7f;
  return 2 + (l === 126 ? 2 : l === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
}

/** Undo a mask `key` (big-endian, as on the wire) on `data`, whose first byte is payload byte `phase`. */
function unmask(data: Buffer, key: number, phase: number): void {
  for (let i = 0; i < data.length; i++) data[i]! ^= (key >>> (8 * (3 - ((phase + i) & 3)))) & 0xff;
}
