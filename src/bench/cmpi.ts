// The C MPI reference (bench/c/orchid_osu.c): compile with mpicc, run with mpiexec.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.js';
import { mpiexecPlacement, type MpiFlavor, type MpiWhere } from './mpi-placement.js';

export interface CMpi {
  binary: string;
  mpicc: string;
  mpiexec: string;
  /** extra mpiexec flags (Open MPI as root needs --allow-run-as-root, --oversubscribe) */
  flags: string[];
  flavor: MpiFlavor;
  library: string;
  version: string;
}

export interface CLine {
  impl: 'c-mpi';
  type?: 'env';
  benchmark: string;
  ranks: number;
  size: number;
  unit: string;
  iters: number;
  samples: number[];
  library?: string;
  mpi_version?: string;
  /** ping-pong: the rank that answered rank 0 */
  peer?: number;
}

function which(cmd: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}


/** Compile the C benchmark into `dir`; null with a reason when there is no usable MPI. */
export function setupCMpi(dir: string): { c: CMpi | null; note: string } {
  // a matching pair: MPICH's first (what the clusters run), then Open MPI's, then whatever is on PATH
  // (Debian's mpicc and mpiexec alternatives can point at different MPIs when both are installed)
  let mpicc = process.env.ORCHID_BENCH_MPICC ?? null;
  let mpiexec = process.env.ORCHID_BENCH_MPIEXEC ?? null;
  if (!mpicc || !mpiexec) {
    const pair = ['.mpich', '.openmpi', ''].map((sfx) => [which(`mpicc${sfx}`), which(`mpiexec${sfx}`)] as const).find(([a, b]) => a && b);
    mpicc ??= pair?.[0] ?? null;
    mpiexec ??= pair?.[1] ?? null;
  }
  if (!mpicc || !mpiexec) return { c: null, note: 'C MPI reference skipped: mpicc/mpiexec not found (install mpich libmpich-dev)' };
  let flavor: CMpi['flavor'] = 'unknown';
  try {
    const v = execFileSync(mpiexec, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    flavor = /open ?mpi|openrte/i.test(v) ? 'openmpi' : /hydra|mpich/i.test(v) ? 'mpich' : 'unknown';
  } catch {
    /* keep unknown */
  }
  mkdirSync(dir, { recursive: true });
  const binary = join(dir, 'orchid_osu');
  try {
    execFileSync(mpicc, ['-O2', '-o', binary, join(PACKAGE_ROOT, 'bench/c/orchid_osu.c')], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  } catch (e) {
    return { c: null, note: `C MPI reference skipped: ${mpicc} failed: ${String((e as { stderr?: Buffer }).stderr ?? e).trim().slice(0, 300)}` };
  }
  const flags = flavor === 'openmpi' ? ['--oversubscribe'] : [];
  return { c: { binary, mpicc, mpiexec, flags, flavor, library: '', version: '' }, note: '' };
}

export interface CRun {
  promise: Promise<{ lines: CLine[]; code: number | null; stderr: string }>;
  child: ChildProcess;
}

/** mpiexec -n RANKS orchid_osu ARGS on `w`'s hosts. */
export function runCMpi(c: CMpi, ranks: number, args: string[], w: MpiWhere, timeoutMs: number): CRun {
  const place = mpiexecPlacement(c.flavor, w, dirname(c.binary));
  const child = spawn(c.mpiexec, [...c.flags, ...place.args, '-n', String(ranks), c.binary, ...args], {
    env: { ...process.env, ...place.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, timeoutMs);
  const promise = new Promise<{ lines: CLine[]; code: number | null; stderr: string }>((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      const lines = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as CLine];
          } catch {
            return [];
          }
        });
      resolve({ lines, code, stderr: err });
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ lines: [], code: -1, stderr: String(e) });
    });
  });
  return { promise, child };
}

export function mpiVersionText(mpiexec: string): Promise<string> {
  return new Promise((resolve) => execFile(mpiexec, ['--version'], { timeout: 10_000 }, (_e, out) => resolve(String(out ?? '').split('\n')[0]!.trim())));
}
