// registerClass(): instances of the program's own classes travel as instances (README.md,
// "Your own classes"). Every registered class is one msgpackr extension of one type byte
// (CLASS_EXT); its payload is [name, data]: the class's registered name, then its fields (or
// what its encode() made). The receiver finds the class by that name, so a class the sender
// registered and the receiver did not is an error naming it, never a plain object; the
// order of registration does not matter.
import { addExtension } from 'msgpackr';

/** msgpack extension type of a registered class's instance ('C'; msgpackr's own are other bytes). */
export const CLASS_EXT = 0x43;

export interface ClassCodec<T extends object = object> {
  /** what travels instead of the instance (default: its own enumerable fields) */
  encode?: (instance: T) => unknown;
  /** the instance rebuilt from what encode() made (default: Object.create(prototype) + those fields) */
  decode?: (data: any) => T;
  /** the name it travels by (default: the class's name); the same on every rank */
  name?: string;
}

type Ctor = abstract new (...args: any[]) => object;

interface Entry {
  name: string;
  ctor: Ctor;
  encode?: (v: object) => unknown;
  decode?: (data: unknown) => object;
}

const byName = new Map<string, Entry>();
const byCtor = new Map<Function, Entry>();

/** Classes the codec carries itself: registering them would change what every program sends. */
const BUILTIN: Function[] = [Object, Array, Map, Set, Date, RegExp, Error, Promise, ArrayBuffer, SharedArrayBuffer, DataView, Buffer, Object.getPrototypeOf(Uint8Array)];

function write(this: unknown, v: object): unknown {
  const e = byCtor.get(v.constructor);
  if (!e) {
    const base = [...byCtor.values()].find((x) => v instanceof x.ctor)!;
    throw new TypeError(`an instance of ${v.constructor?.name || "an anonymous class"}, which extends the registered class ${base.name} but is not registered itself (call registerClass on it on every rank)`);
  }
  return [e.name, e.encode ? e.encode(v) : { ...v }];
}

function read(payload: unknown): object {
  if (!Array.isArray(payload) || payload.length !== 2 || typeof payload[0] !== 'string') throw new TypeError('a registered-class value is malformed');
  const [name, data] = payload as [string, unknown];
  const e = byName.get(name);
  if (!e) throw new TypeError(`the sender sent an instance of class ${name}, which is not registered on this rank (call registerClass(${name}) on every rank, before the first message)`);
  if (e.decode) return e.decode(data);
  if (typeof data !== 'object' || data === null) throw new TypeError(`class ${name}: the fields arrived as ${data === null ? 'null' : typeof data}, not an object (did the sender give an encode() this rank lacks?)`);
  return Object.assign(Object.create(e.ctor.prototype) as object, data);
}

// the reader is there from the start: a registered class's instance that reaches a process
// that registered nothing is the same clear error (msgpackr alone says "Unknown extension")
addExtension({ type: CLASS_EXT, read } as unknown as Parameters<typeof addExtension>[0]);

/**
 * Let instances of `ctor` travel as instances: they arrive with its prototype (their methods
 * work), their own enumerable fields restored, or made by `decode` from what `encode` sent.
 * Every rank registers the same classes under the same names. The constructor does not run
 * on the receiver (give decode for private fields or a class that needs it).
 */
export function registerClass<T extends object>(ctor: abstract new (...args: any[]) => T, codec: ClassCodec<T> = {}): void {
  const call = 'registerClass';
  if (typeof ctor !== 'function' || typeof ctor.prototype !== 'object' || ctor.prototype === null)
    throw new TypeError(`${call}: expected a class (a constructor with a prototype), got ${ctor === null ? 'null' : typeof ctor}`);
  if (BUILTIN.some((b) => ctor === b || (b !== Object && ctor.prototype instanceof b)))
    throw new TypeError(`${call}: ${ctor.name} (or what it extends) already travels as a value of its own; only plain classes can be registered`);
  if (typeof codec !== 'object' || codec === null) throw new TypeError(`${call}: the options must be an object { encode?, decode?, name? }`);
  const { encode, decode } = codec;
  if (encode !== undefined && typeof encode !== 'function') throw new TypeError(`${call}: encode must be a function`);
  if (decode !== undefined && typeof decode !== 'function') throw new TypeError(`${call}: decode must be a function`);
  const name = codec.name ?? ctor.name;
  if (typeof name !== 'string' || name === '') throw new TypeError(`${call}: an anonymous class needs { name } to travel by`);
  const other = byName.get(name);
  if (other && other.ctor !== ctor) throw new TypeError(`${call}: another class is registered as ${name}; give one of them another { name }`);
  const known = byCtor.get(ctor);
  if (known && known.name !== name) throw new TypeError(`${call}: ${ctor.name} is registered as ${known.name} already`);
  const entry: Entry = { name, ctor, encode: encode as Entry['encode'], decode: decode as Entry['decode'] };
  byName.set(name, entry);
  byCtor.set(ctor, entry);
  // registered again: the new encode/decode serve the extension added the first time
  if (!known) addExtension({ Class: ctor as any, type: CLASS_EXT, write, read } as unknown as Parameters<typeof addExtension>[0]);
}
