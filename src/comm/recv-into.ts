// recvInto's last step: a received message placed in the caller's typed array. The transport
// may have written it there already (mpi: `written` bytes); otherwise the message must be of
// the buffer's element kind (TypeError) and fit (ERR_COUNT), and its bytes are copied in.
import { elemCode, elemCtor, ELEM_NONE, type TypedArray } from '../codec/index.js';
import { OrchidError } from '../errors.js';
import type { RawMessage } from './comm-backend.js';
import type { Message } from './comm-types.js';

/** `m` in `buffer`, as `buffer.subarray(0, n)` for its n elements; `rank` is the receiver, for errors. */
export function intoBuffer<T extends TypedArray>(call: string, rank: number, buffer: T, m: RawMessage): Message<T> {
  const want = elemCode(buffer);
  const per = elemCtor(want).BYTES_PER_ELEMENT;
  let n = m.written;
  if (n === undefined) {
    const got = m.packet.elem;
    if (got !== want) {
      const what = got === ELEM_NONE ? 'a value (not a typed array)' : `a ${elemCtor(got).name}`;
      throw new TypeError(`${call}: rank ${rank} got ${what} from rank ${m.source} (tag ${m.tag}) for a ${elemCtor(want).name} buffer`);
    }
    n = m.packet.bytes.byteLength;
    if (n > buffer.byteLength)
      throw new OrchidError('ERR_COUNT', `${call}: the message from rank ${m.source} (tag ${m.tag}) has ${n / per} elements, rank ${rank}'s buffer holds ${buffer.length}`);
    new Uint8Array(buffer.buffer, buffer.byteOffset, n).set(m.packet.bytes);
  }
  return { data: buffer.subarray(0, n / per) as T, source: m.source, tag: m.tag };
}
