// Values on the wire: typed arrays as raw bytes with their element kind (no copy on
// the way out), everything else through msgpackr (registered classes: classes.ts).
import { Packr } from 'msgpackr';
import { findCycle } from './cycle.js';
import { bytesOf, elemCode, ELEM_NONE, typedFromBytes, type TypedArray } from './typed.js';

export * from './typed.js';
export { registerClass, type ClassCodec } from './classes.js';

/** An encoded value: what a frame carries. `elem` is ELEM_NONE for msgpack bytes. */
export interface Packet {
  elem: number;
  bytes: Buffer;
}

let currentCall = '';
/** this process's world rank, for the errors of values it cannot send (init() sets it) */
let worldRank: number | undefined;

export function setWorldRank(rank: number): void {
  worldRank = rank;
}

const where = (): string => (worldRank === undefined ? '' : ` (on world rank ${worldRank})`);
const packr = new Packr({
  // Records keep plain objects and Maps apart; every message is self-contained.
  useRecords: true,
  mapsAsObjects: false,
  moreTypes: true,
  int64AsType: 'bigint',
  writeFunction() {
    throw new TypeError(`${currentCall}: cannot send a function${where()}`);
  },
});

const NEG_ZERO = [0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0];

/** Encode `value` for `call`; a value msgpackr cannot encode is a TypeError naming the call. */
export function encode(value: unknown, call: string): Packet {
  const elem = elemCode(value);
  if (elem !== ELEM_NONE) return { elem, bytes: bytesOf(value as TypedArray) };
  // msgpackr writes -0 as the integer 0; a float64 -0 (what it reads back as -0) keeps it
  if (value === 0 && 1 / value < 0) return { elem, bytes: Buffer.from(NEG_ZERO) };
  currentCall = call;
  try {
    return { elem, bytes: packr.pack(value) };
  } catch (e) {
    if (e instanceof TypeError && e.message.startsWith(call)) throw e;
    // msgpackr recursed until the stack ran out: only now look for the cycle
    if (e instanceof RangeError) {
      const c = findCycle(value);
      if (c) throw new TypeError(`${call}: cannot send a cyclic value: ${c.at} is ${c.back} again (a value that contains itself)${where()}`);
      throw new TypeError(`${call}: the value is nested too deeply to send (${e.message})${where()}`);
    }
    const what = e instanceof Error ? e.message : String(e);
    throw new TypeError(`${call}: value cannot be sent (${what})${where()}`);
  }
}

export function decode(p: Packet): unknown {
  if (p.elem !== ELEM_NONE) return typedFromBytes(p.elem, p.bytes);
  return p.bytes.length === 0 ? undefined : packr.unpack(p.bytes);
}

/** A copy of a packet whose bytes the caller may keep after the source is reused. */
export function ownPacket(p: Packet): Packet {
  return { elem: p.elem, bytes: Buffer.from(p.bytes) };
}

export const EMPTY_PACKET: Packet = { elem: ELEM_NONE, bytes: Buffer.alloc(0) };
