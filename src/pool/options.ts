// The task pool's options, checked in one place: Pool.start's (the task module and export),
// map()'s (chunk, ordered, progress) and close()'s (timeoutMs). Mistakes are TypeErrors that
// name the call and the rank.

export interface PoolOptions {
  /** the module every worker imports: a URL (`new URL('./tasks.ts', import.meta.url)`, a
   *  'file:' string) or a path, absolute or relative to the current directory */
  module: string | URL;
  /** the name of the exported task function (default 'default'); it gets one item and
   *  returns (or resolves to) the task's value */
  export?: string;
  /** batches in flight per worker (default 2: the next is queued at the worker while it runs one) */
  inflight?: number;
}

export interface MapOptions {
  /** items per message to a worker (default 1); results still come one per item */
  chunk?: number;
  /** true (default): results in submission order; false: as they complete */
  ordered?: boolean;
  /** called after each task of this map: `total` is the number of items once known (an
   *  Array's length, or when the iterable is exhausted), else undefined */
  progress?: (done: number, total: number | undefined) => void;
}

export interface CloseOptions {
  /** give up on tasks still running after this many ms: they fail with ERR_TIMEOUT and
   *  close() rejects with ERR_TIMEOUT naming the busy ranks (default: wait for ever) */
  timeoutMs?: number;
}

/** Pool.start's options, checked. */
export interface StartSpec {
  module: string | URL;
  exportName: string;
  inflight: number;
}

const START_KEYS = new Set(['module', 'export', 'inflight']);
const MAP_KEYS = new Set(['chunk', 'ordered', 'progress']);
const CLOSE_KEYS = new Set(['timeoutMs']);

function plainObject(call: string, rank: number, v: unknown, what: string): asserts v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new TypeError(`${call}: ${what} must be an object, got ${v === null ? 'null' : Array.isArray(v) ? 'an Array' : typeof v} (called on rank ${rank})`);
}

function knownKeys(call: string, rank: number, o: Record<string, unknown>, keys: Set<string>): void {
  for (const k of Object.keys(o))
    if (!keys.has(k)) throw new TypeError(`${call}: unknown option "${k}" (known: ${[...keys].join(', ')}; called on rank ${rank})`);
}

function positiveInt(call: string, rank: number, name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1)
    throw new TypeError(`${call}: ${name} must be a positive integer, got ${typeof v === 'number' ? v : typeof v} (called on rank ${rank})`);
  return v;
}

export function checkStartOptions(rank: number, options: unknown): StartSpec {
  const call = 'Pool.start';
  plainObject(call, rank, options, 'options ({ module, export })');
  knownKeys(call, rank, options, START_KEYS);
  const mod = options.module;
  if (mod === undefined)
    throw new TypeError(`${call}: options.module is missing: name the module that exports the task function (a path or a URL, e.g. new URL('./tasks.ts', import.meta.url)) (called on rank ${rank})`);
  if (!(mod instanceof URL) && (typeof mod !== 'string' || mod === ''))
    throw new TypeError(`${call}: options.module must be a path or a URL, got ${typeof mod === 'string' ? 'an empty string' : typeof mod} (called on rank ${rank})`);
  const exp = options.export ?? 'default';
  if (typeof exp !== 'string' || exp === '')
    throw new TypeError(`${call}: options.export must be the name of an exported function, got ${typeof exp === 'string' ? 'an empty string' : typeof exp} (called on rank ${rank})`);
  const inflight = options.inflight === undefined ? 2 : positiveInt(call, rank, 'options.inflight', options.inflight);
  return { module: mod, exportName: exp, inflight };
}

export interface MapSpec {
  chunk: number;
  ordered: boolean;
  progress: ((done: number, total: number | undefined) => void) | undefined;
}

export function checkMapOptions(rank: number, options: unknown): MapSpec {
  const call = 'pool.map';
  if (options === undefined) return { chunk: 1, ordered: true, progress: undefined };
  plainObject(call, rank, options, 'options ({ chunk, ordered, progress })');
  knownKeys(call, rank, options, MAP_KEYS);
  const chunk = options.chunk === undefined ? 1 : positiveInt(call, rank, 'options.chunk', options.chunk);
  const ordered = options.ordered ?? true;
  if (typeof ordered !== 'boolean') throw new TypeError(`${call}: options.ordered must be a boolean, got ${typeof ordered} (called on rank ${rank})`);
  const progress = options.progress;
  if (progress !== undefined && typeof progress !== 'function')
    throw new TypeError(`${call}: options.progress must be a function (done, total), got ${typeof progress} (called on rank ${rank})`);
  return { chunk, ordered, progress: progress as MapSpec['progress'] };
}

export function checkCloseOptions(rank: number, options: unknown): number | undefined {
  const call = 'pool.close';
  if (options === undefined) return undefined;
  plainObject(call, rank, options, 'options ({ timeoutMs })');
  knownKeys(call, rank, options, CLOSE_KEYS);
  const t = options.timeoutMs;
  if (t === undefined) return undefined;
  if (typeof t !== 'number' || !(t >= 0) || !Number.isFinite(t))
    throw new TypeError(`${call}: options.timeoutMs must be a non-negative number of ms, got ${String(t)} (called on rank ${rank})`);
  return t;
}

/** The items of a map(): an Array or any (async) iterable. */
export function checkItems(rank: number, items: unknown): Iterable<unknown> | AsyncIterable<unknown> {
  const it = items as { [Symbol.iterator]?: unknown; [Symbol.asyncIterator]?: unknown } | null | undefined;
  if (it != null && (typeof it[Symbol.asyncIterator] === 'function' || typeof it[Symbol.iterator] === 'function'))
    return items as Iterable<unknown> | AsyncIterable<unknown>;
  throw new TypeError(`pool.map: items must be an Array or an (async) iterable, got ${items === null ? 'null' : typeof items} (called on rank ${rank})`);
}
