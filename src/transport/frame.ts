// The fixed 32-byte frame header of the ws transport (little-endian):
//   0 u8 kind | 1 u8 flags | 2 u8 elem | 3 u8 pad | 4 u32 context | 8 i32 source (rank in the communicator)
//  12 i32 tag | 16 u32 id (rendezvous id / credit bytes) | 20 u32 collective signature
//  (src/comm/collectives/signature.ts; 0 for point to point) | 24 f64 payload length
export const HEADER_BYTES = 32;

export const enum FrameType {
  /** header + payload in one message */
  EAGER = 1,
  /** request to send: the envelope only; the payload waits for CTS */
  RTS = 2,
  /** clear to send: receiver matched RTS `id` */
  CTS = 3,
  /** header of a rendezvous payload; the payload is the next message on the connection */
  DATA = 4,
  /** the receiver consumed `id` bytes of eager messages */
  CREDIT = 5,
  /** a collective (context, tag) failed on the sender; payload: msgpack {code, message} */
  COLL_ERROR = 6,
}

export interface Header {
  kind: FrameType;
  flags: number;
  elem: number;
  ctx: number;
  src: number;
  tag: number;
  id: number;
  length: number;
  /** a collective message's signature (EAGER, RTS); 0 elsewhere */
  sig?: number;
}

/** The header at `buf[o]` (an offset rather than a subarray: no view made per frame). */
export function writeHeader(buf: Buffer, h: Header, o = 0): void {
  buf[o] = h.kind;
  buf[o + 1] = h.flags;
  buf[o + 2] = h.elem;
  buf[o + 3] = 0;
  buf.writeUInt32LE(h.ctx >>> 0, o + 4);
  buf.writeInt32LE(h.src, o + 8);
  buf.writeInt32LE(h.tag, o + 12);
  buf.writeUInt32LE(h.id >>> 0, o + 16);
  buf.writeUInt32LE((h.sig ?? 0) >>> 0, o + 20);
  buf.writeDoubleLE(h.length, o + 24);
}

export function readHeader(buf: Buffer): Header {
  return {
    kind: buf[0] as FrameType,
    flags: buf[1]!,
    elem: buf[2]!,
    ctx: buf.readUInt32LE(4),
    src: buf.readInt32LE(8),
    tag: buf.readInt32LE(12),
    id: buf.readUInt32LE(16),
    sig: buf.readUInt32LE(20),
    length: buf.readDoubleLE(24),
  };
}
