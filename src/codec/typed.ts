// Element kinds of typed arrays as they travel: a number in the frame header,
// so the receiver rebuilds the same kind from raw bytes. The codes are abi.ts's.
import { ELEM_BUFFER, ELEM_NONE, ELEMENT_KINDS } from './abi.js';

export type TypedArray =
  | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array
  | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

type TypedCtor = { new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray; new (length: number): TypedArray; BYTES_PER_ELEMENT: number };

export { ELEM_BUFFER, ELEM_NONE } from './abi.js';

/** Index = element code in the frame header (abi.ts): undefined for ELEM_NONE. */
const CTORS: (TypedCtor | undefined)[] = Array.from({ length: 1 + Math.max(...ELEMENT_KINDS.map((k) => k.code)) }, (_, code) => ELEMENT_KINDS.find((k) => k.code === code)?.ctor as TypedCtor | undefined);

export function isTypedArray(v: unknown): v is TypedArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

/** Element code of a typed array or Buffer, ELEM_NONE for anything else. */
export function elemCode(v: unknown): number {
  if (!isTypedArray(v)) return ELEM_NONE;
  if (Buffer.isBuffer(v)) return ELEM_BUFFER;
  const i = CTORS.indexOf(v.constructor as TypedCtor);
  return i > 0 ? i : ELEM_NONE; // a subclass of a typed array travels through msgpack
}

export function elemSize(code: number): number {
  return CTORS[code]?.BYTES_PER_ELEMENT ?? 1;
}

export function elemCtor(code: number): TypedCtor {
  const c = CTORS[code];
  if (!c) throw new RangeError(`unknown element code ${code}`);
  return c;
}

/** Raw bytes of a typed array, as a Buffer over the same memory (no copy). */
export function bytesOf(v: TypedArray): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/**
 * A typed array of kind `code` over `bytes`. Zero-copy when `bytes` is exactly its own
 * ArrayBuffer (large messages); otherwise one copy into an exact-size buffer, so a small
 * result never pins a big socket chunk and is always aligned.
 */
export function typedFromBytes(code: number, bytes: Uint8Array): TypedArray {
  const C = elemCtor(code);
  const size = C.BYTES_PER_ELEMENT;
  if (bytes.byteLength % size !== 0) throw new RangeError(`typed payload of ${bytes.byteLength} bytes is not a multiple of ${size}`);
  let buf = bytes;
  if (!(bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.byteLength)) {
    buf = new Uint8Array(bytes.byteLength);
    buf.set(bytes);
  }
  if (code === ELEM_BUFFER) return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return new C(buf.buffer, buf.byteOffset, buf.byteLength / size);
}

/** One contiguous buffer holding `parts` (all of kind `code`), handed back as one view per part. */
export function packContiguous(code: number, parts: Uint8Array[]): TypedArray[] {
  const C = elemCtor(code);
  let total = 0;
  for (const p of parts) total += p.byteLength;
  const all = new Uint8Array(total);
  const out: TypedArray[] = [];
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    out.push(code === ELEM_BUFFER ? Buffer.from(all.buffer, off, p.byteLength) : new C(all.buffer, off, p.byteLength / C.BYTES_PER_ELEMENT));
    off += p.byteLength;
  }
  return out;
}
