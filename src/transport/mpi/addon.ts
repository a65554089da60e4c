// Loading the native addon (native/addon.h). It is optional: a missing build or a
// missing libmpi leaves `loadAddon()` with the reason, and the ws transport serves. An addon
// whose table of element kinds, op codes and block layout (its abi() export) differs from
// codec/abi.ts does not load either: the reason names both views.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { abiView, type AbiView } from '../../codec/abi.js';
import { PACKAGE_ROOT } from '../../package-root.js';
import { archMismatch } from './elf.js';

/** A buffer MPI reads or writes: a typed array or an ArrayBuffer. */
type Buf = ArrayBufferView | ArrayBuffer;

/**
 * The addon's collectives (native/collectives.cc), one export each: `comm` is a communicator
 * handle, `dtype` an element code or MPI_BYTES and `op` an op code (codec/abi.ts); counts and
 * displacements are in units of `dtype` (bytes for the v-variants); null where MPI does not
 * read the buffer on this rank. Each returns 0 when complete, else the id its completion brings.
 */
export interface AddonCollectives {
  barrier(comm: number): number;
  bcast(comm: number, buf: Buf, count: number, dtype: number, root: number): number;
  allreduce(comm: number, send: Buf, recv: Buf, count: number, dtype: number, op: number): number;
  scan(comm: number, send: Buf, recv: Buf, count: number, dtype: number, op: number): number;
  exscan(comm: number, send: Buf, recv: Buf | null, count: number, dtype: number, op: number): number;
  /** one block of SR_BLOCK bytes each way, laid out as SMALL_REDUCE says */
  smallAllreduce(comm: number, send: Uint8Array, recv: Uint8Array): number;
  reduce(comm: number, send: Buf, recv: Buf | null, count: number, dtype: number, op: number, root: number): number;
  allgather(comm: number, send: Buf, count: number, recv: Buf, dtype: number): number;
  scatter(comm: number, send: Buf | null, count: number, recv: Buf, dtype: number, root: number): number;
  alltoall(comm: number, send: Buf, count: number, recv: Buf, dtype: number): number;
  gatherv(comm: number, send: Buf, sendCount: number, recv: Buf | null, counts: Int32Array | null, displs: Int32Array | null, root: number): number;
  allgatherv(comm: number, send: Buf, sendCount: number, recv: Buf, counts: Int32Array, displs: Int32Array): number;
  scatterv(comm: number, send: Buf | null, counts: Int32Array | null, displs: Int32Array | null, recv: Buf, recvCount: number, root: number): number;
  alltoallv(comm: number, send: Buf, sendCounts: Int32Array, sendDispls: Int32Array, recv: Buf, recvCounts: Int32Array, recvDispls: Int32Array): number;
}

/** The addon's exports (native/addon.h). */
export interface Addon extends AddonCollectives {
  /** `status`: where a receive done at once leaves [source, tag, elem, bytes] (see recv) */
  init(complete: (id: number, err: string | null, res: unknown) => void, status: Int32Array, spinUs?: number, pollUs?: number, idleSpinUs?: number): AddonInfo;
  /** 0 when the send is complete (the memory may be reused), else the id its completion brings */
  isend(comm: number, dest: number, tag: number, elem: number, bytes: Uint8Array): number;
  /**
   * Matched at once (the fast path): the payload, or null for a probe or when it went into
   * `into`, with [source, tag, elem, bytes] in init's status array. Else the id whose
   * completion brings [src, tag, elem, ArrayBuffer | bytes written] ([src, tag, bytes] for a
   * probe). into/elem: a large payload of kind `elem` that fits goes straight into `into`.
   */
  recv(comm: number, src: number, tag: number, probeOnly: boolean, into?: Uint8Array, elem?: number): number | ArrayBuffer | null;
  iprobe(comm: number, src: number, tag: number): [number, number, number] | undefined;
  split(comm: number, color: number, key: number, shared: boolean): number;
  commInfo(comm: number): [number, number];
  finalize(): void;
  /** at exit without finalize(): the finalize agreement with state 1, blocking (MpiBackend.finalize) */
  leave(comm: number, states: Int32Array): void;
  abort(code: number): void;
  /** collectives: MPI collective calls started so far (how many one Comm call costs) */
  stats(): { active: number; waiting: number; payloads: number; poolHits: number; poolMisses: number; collectives: number };
  version(): string;
  /** an ArrayBuffer of `bytes` from the addon's pool of recycled buffers (content undefined) */
  alloc(bytes: number): ArrayBuffer;
  /** the table the addon was built with (native/abi.h), checked against codec/abi.ts at load */
  abi(): AbiView;
  readonly flavor: 'mpich' | 'openmpi' | 'unknown';
}

export interface AddonInfo {
  rank: number;
  size: number;
  tagUb: number;
  thread: 'multiple' | 'serialized';
  processor: string;
  library: string;
}

/** The package root (this file is dist/transport/mpi/addon.js or src/transport/mpi/addon.ts). */

/** Where the addon is looked for: ORCHID_MPI_ADDON, then build/Release (node-gyp) and build/ (cmake-js). */
export function addonCandidates(): string[] {
  const env = process.env.ORCHID_MPI_ADDON;
  if (env) return [env];
  return [join(PACKAGE_ROOT, 'build/Release/orchid_mpi.node'), join(PACKAGE_ROOT, 'build/orchid_mpi.node')];
}

let cached: { addon?: Addon; error?: string; path?: string } | undefined;

/** Load the addon once; `error` says why it is not there. */
export function loadAddon(): { addon?: Addon; error?: string; path?: string } {
  if (cached) return cached;
  const path = addonCandidates().find((p) => existsSync(p));
  if (!path) {
    cached = { error: notBuilt() };
    return cached;
  }
  const foreign = archMismatch(path);
  if (foreign) {
    cached = { error: `the native MPI addon at ${path} cannot load here: ${foreign} (built on another machine, or by a cross compiler); rebuild it on this host: npm rebuild orchid-mpi`, path };
    return cached;
  }
  ucxWithoutMemoryHooks();
  try {
    const req = createRequire(import.meta.url);
    const addon = req(path) as Addon;
    const mismatch = abiMismatch(addon);
    cached = mismatch
      ? { error: `the native MPI addon at ${path} does not match this orchid's JS↔C++ table (src/codec/abi.ts, native/abi.h): ${mismatch}; rebuild it: npm rebuild orchid-mpi`, path }
      : { addon, path };
  } catch (e) {
    cached = { error: `the native MPI addon at ${path} does not load: ${(e as Error).message}` };
  }
  return cached;
}

/** Where native/install.mjs leaves the reason it skipped the build, for notBuilt(). */
export const SKIPPED_NOTE = 'build/native-skipped.txt';

/**
 * Why there is no addon: the reason npm install gave when it skipped the build (no MPI, no C++
 * compiler, a compiler for another architecture, a failed build), else that no MPI was found.
 */
function notBuilt(): string {
  if (!process.env.ORCHID_MPI_ADDON) {
    try {
      const why = readFileSync(join(PACKAGE_ROOT, SKIPPED_NOTE), 'utf8').trim();
      if (why) return `the native addon is not built (npm install skipped it: ${why})`;
    } catch {
      /* no note: an install from before the note, or build/ removed */
    }
  }
  return 'the native addon is not built (no MPI was found at install time; install MPICH, e.g. `apt-get install mpich libmpich-dev` or `pacman -S mpich`, then run `npm rebuild orchid-mpi`)';
}

/**
 * Where the addon's view of the JS↔C++ table (its `abi()` export) differs from this build's
 * (codec/abi.ts), naming both; undefined when they agree.
 */
export function abiMismatch(addon: Pick<Addon, 'abi'>): string | undefined {
  if (typeof addon.abi !== 'function') return 'it reports no table (no abi() export: built from an older orchid)';
  const got = addon.abi();
  const want = abiView();
  const diffs: string[] = [];
  const kind = (e?: AbiView['elements'][number]) => (e ? `${e.c} (${e.bytes} B${e.mpiReduces ? ', reduced by MPI' : ''})` : 'none');
  const codes = [...new Set([...got.elements, ...want.elements].map((e) => e.code))].sort((a, b) => a - b);
  for (const code of codes) {
    const g = kind(got.elements.find((e) => e.code === code));
    const w = kind(want.elements.find((e) => e.code === code));
    if (g !== w) diffs.push(`element kind ${code}: addon ${g}, orchid ${w}`);
  }
  const differ = (what: string, g: unknown, w: unknown) => {
    if (JSON.stringify(g) !== JSON.stringify(w)) diffs.push(`${what}: addon ${JSON.stringify(g)}, orchid ${JSON.stringify(w)}`);
  };
  differ('bytes datatype code', got.bytes, want.bytes);
  differ('reduction ops in code order', got.ops, want.ops);
  const sr = (v: AbiView['smallReduce']) => ({ headerBytes: v.headerBytes, dataBytes: v.dataBytes, fields: v.fields });
  differ('small-allreduce block', sr(got.smallReduce), sr(want.smallReduce));
  return diffs.length ? diffs.join('; ') : undefined;
}

/**
 * UCX (under MPICH's ch4:ucx and Open MPI's pml ucx) patches mmap/munmap/brk/sbrk when libucs
 * loads and then tests its hooks by growing and shrinking the heap with sbrk() and brk(),
 * outside malloc's lock. In a C program that runs before main(), on one thread. Here libmpi
 * loads with the addon, while V8's threads allocate and free: a heap growth by another
 * thread between UCX's sbrk(+page) and brk(back) is cut off again, and malloc later hands out
 * memory that is not mapped (SIGSEGV in V8, about one MPICH job in thirteen). With memory
 * events off UCX installs no hooks and does without its registration cache, which the
 * shared-memory and TCP transports of an Ethernet cluster do not need. A user's own
 * UCX_MEM_EVENTS wins (with libucs in LD_PRELOAD the hooks are installed safely at start-up).
 */
function ucxWithoutMemoryHooks(): void {
  if (process.env.UCX_MEM_EVENTS === undefined) process.env.UCX_MEM_EVENTS = 'no';
}

/** For `orchid doctor` and `--transport auto`: whether the mpi transport can run here, and why not. */
export function nativeStatus(): { available: boolean; flavor?: string; library?: string; path?: string; reason?: string } {
  const { addon, error, path } = loadAddon();
  if (!addon) return { available: false, reason: error };
  let library: string | undefined;
  try {
    library = addon.version().split('\n')[0]?.replace(/\s+/g, ' ').trim();
  } catch {
    /* an addon without version() is still usable */
  }
  return { available: true, flavor: addon.flavor, library, path };
}

let probed: ReturnType<typeof nativeStatus> | undefined;

/**
 * nativeStatus() asked of a child process, so that the launcher never maps libmpi (and UCX)
 * into its own long-lived process for a yes/no answer.
 */
export function probeAddon(): ReturnType<typeof nativeStatus> {
  if (probed) return probed;
  const script = `import { nativeStatus } from ${JSON.stringify(import.meta.url)}; process.stdout.write(JSON.stringify(nativeStatus()));`;
  try {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
    probed = JSON.parse(out) as ReturnType<typeof nativeStatus>;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    probed = { available: false, reason: `the native MPI addon could not be checked: ${(err.stderr || err.message).trim().split('\n')[0]}` };
  }
  return probed;
}
