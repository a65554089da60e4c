// The bytes of the ws transport, apart from any socket. Outgoing: our 32-byte frame header
// (../frame.ts) and its payload as binary WebSocket frames (RFC 6455 §5.2), either one frame
// holding both or, for a large payload, a header frame flagged SEPARATE followed by the payload
// as a frame of its own. Incoming (after the ws library has undone the WebSocket framing): the
// messages of one authenticated socket, checked and joined back into frames.
import { FrameType, HEADER_BYTES, readHeader, writeHeader, type Header } from '../frame.js';
import { COPY_MAX, type Link, type LinkEvents } from '../links.js';

/** Payloads up to this size are copied into one message with their header; larger ones go
 *  as a second message straight from the caller's memory. */
export const INLINE_MAX = COPY_MAX;
/** The header's flag: the payload is the next message on this connection. */
export const SEPARATE = 1;

/** Bytes of a WebSocket frame header for `len` payload bytes. */
export function wsHeaderBytes(len: number, masked: boolean): number {
  return (len < 126 ? 2 : len < 65536 ? 4 : 10) + (masked ? 4 : 0);
}

/** Write a binary, final WebSocket frame header at `off`; returns its length. A client's frame
 *  carries the mask bit with an all-zero key, so neither side spends time (un)masking. */
export function writeWsHeader(buf: Buffer, off: number, len: number, masked: boolean): number {
  const m = masked ? 0x80 : 0;
  buf[off] = 0x82;
  let n = 2;
  if (len < 126) buf[off + 1] = m | len;
  else if (len < 65536) {
    buf[off + 1] = m | 126;
    buf.writeUInt16BE(len, off + 2);
    n = 4;
  } else {
    buf[off + 1] = m | 127;
    buf.writeUInt32BE(Math.floor(len / 2 ** 32), off + 2);
    buf.writeUInt32BE(len >>> 0, off + 6);
    n = 10;
  }
  if (masked) {
    buf.writeUInt32LE(0, off + n);
    n += 4;
  }
  return n;
}

/** Room for the largest inline frame: WebSocket header (masked), our header, INLINE_MAX. */
export const SCRATCH_BYTES = 14 + HEADER_BYTES + INLINE_MAX;

/** A frame whose payload is at most INLINE_MAX, written into `buf` (of SCRATCH_BYTES at least)
 *  from offset 0: the WebSocket header, ours, the payload. Returns its length. */
export function encodeInline(buf: Buffer, h: Header, payload: Uint8Array | undefined, masked: boolean): number {
  const plen = payload ? payload.byteLength : 0;
  const len = HEADER_BYTES + plen;
  const ws = writeWsHeader(buf, 0, len, masked);
  writeHeader(buf, h, ws);
  if (payload) buf.set(payload, ws + HEADER_BYTES);
  return ws + len;
}

/**
 * One frame as bytes for the socket. A payload up to INLINE_MAX is copied into `head` with
 * both headers (one write). A larger one stays where it is: `head` then holds the WebSocket
 * header, our header flagged SEPARATE, and the WebSocket header of the payload frame, and
 * `payload` is written after it.
 */
export function encodeFrame(h: Header, payload: Uint8Array | undefined, masked: boolean): { head: Buffer; payload?: Uint8Array } {
  const plen = payload ? payload.byteLength : 0;
  if (plen <= INLINE_MAX) {
    const len = HEADER_BYTES + plen;
    const head = Buffer.allocUnsafe(wsHeaderBytes(len, masked) + len);
    encodeInline(head, h, payload, masked);
    return { head };
  }
  const ws1 = wsHeaderBytes(HEADER_BYTES, masked);
  const ws2 = wsHeaderBytes(plen, masked);
  const head = Buffer.allocUnsafe(ws1 + HEADER_BYTES + ws2);
  writeWsHeader(head, 0, HEADER_BYTES, masked);
  writeHeader(head, { ...h, flags: h.flags | SEPARATE }, ws1);
  writeWsHeader(head, ws1 + HEADER_BYTES, plen, masked);
  return { head, payload };
}

/** Splits the message stream of one authenticated socket into frames for `events`; a message
 *  that breaks the protocol goes to `fail` instead (the socket is then closed). */
export class FrameReader {
  private pending: Header | undefined;
  constructor(private readonly from: number, private readonly link: Link, private readonly events: LinkEvents, private readonly fail: (why: string) => void) {}

  onMessage(data: Buffer): void {
    if (this.pending) {
      const h = this.pending;
      this.pending = undefined;
      if (data.length !== h.length) return this.fail(`payload of ${data.length} bytes, header said ${h.length}`);
      return this.events.frame(this.from, this.link, h, data);
    }
    if (data.length < HEADER_BYTES) return this.fail(`short frame (${data.length} bytes)`);
    const h = readHeader(data);
    if (h.kind < FrameType.EAGER || h.kind > FrameType.COLL_ERROR) return this.fail(`unknown frame kind ${h.kind}`);
    if (h.flags & SEPARATE) {
      this.pending = h;
      return;
    }
    // RTS announces a payload still to come; every other kind carries exactly `length` bytes.
    const carried = h.kind === FrameType.RTS ? 0 : h.length;
    if (data.length - HEADER_BYTES !== carried) return this.fail(`frame length ${data.length - HEADER_BYTES}, header said ${carried}`);
    this.events.frame(this.from, this.link, h, data.subarray(HEADER_BYTES));
  }
}
