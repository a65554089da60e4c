// Loading the native addon (native/orchid_mpi.cc). It is optional: a missing build or a
// missing libmpi leaves `loadAddon()` with the reason, and the ws transport serves.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon's exports (see native/orchid_mpi.cc). */
export interface Addon {
  init(complete: (id: number, err: string | null, res: unknown) => void, spinUs?: number, pollUs?: number): AddonInfo;
  isend(comm: number, dest: number, tag: number, elem: number, bytes: Uint8Array): number;
  /** into/elem: a large payload of kind `elem` that fits goes straight into `into` (result [src, tag, elem, bytes]) */
  recv(comm: number, src: number, tag: number, probeOnly: boolean, into?: Uint8Array, elem?: number): number | unknown[];
  iprobe(comm: number, src: number, tag: number): [number, number, number] | undefined;
  coll(name: string, comm: number, ...args: unknown[]): number;
  split(comm: number, color: number, key: number, shared: boolean): number;
  commInfo(comm: number): [number, number];
  finalize(): void;
  abort(code: number): void;
  stats(): { active: number; waiting: number };
  version(): string;
  /** an ArrayBuffer of `bytes` from the addon's pool of recycled buffers (content undefined) */
  alloc(bytes: number): ArrayBuffer;
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
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');

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
    cached = { error: 'the native addon is not built (no MPI was found at install time; install MPICH, e.g. `apt-get install mpich libmpich-dev` or `pacman -S mpich`, then run `npm rebuild orchid-mpi`)' };
    return cached;
  }
  ucxWithoutMemoryHooks();
  try {
    const req = createRequire(import.meta.url);
    cached = { addon: req(path) as Addon, path };
  } catch (e) {
    cached = { error: `the native MPI addon at ${path} does not load: ${(e as Error).message}` };
  }
  return cached;
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
