// The C MPI reference (bench/c/orchid_osu.c): compile with mpicc, run with mpiexec.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { dirname, join } from 'node:path';
import { readHostfile } from '../launcher/index.js';
import { PACKAGE_ROOT } from '../package-root.js';

export interface CMpi {
  binary: string;
  mpicc: string;
  mpiexec: string;
  /** extra mpiexec flags (Open MPI as root needs --allow-run-as-root, --oversubscribe) */
  flags: string[];
  flavor: 'mpich' | 'openmpi' | 'unknown';
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

/** Open MPI as root, and with more ranks than cores (the C reference, hpcc) */
export const ompiEnv = { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', OMPI_MCA_rmaps_base_oversubscribe: '1' };

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

/** Where an MPI job runs, in orchid's terms (host list, ssh command line, interface). */
export interface MpiWhere {
  hosts?: string;
  hostfile?: string;
  ssh?: string;
  iface?: string;
}

/** The interface name for `iface` (a name, or an address of this host). */
function ifaceName(iface: string): string {
  for (const [name, addrs] of Object.entries(networkInterfaces())) if (addrs?.some((a) => a.address === iface)) return name;
  return iface;
}

/**
 * mpiexec flags and environment that put a job on `w`'s hosts, in the MPI's own syntax:
 * MPICH Hydra `-hosts`/`-f`, `-launcher-exec` (a wrapper script when the ssh command has
 * arguments: Hydra takes one executable) and `-iface`; Open MPI `--host`/`--hostfile` (its
 * `slots=` form), `plm_rsh_agent` and the TCP interface for its out-of-band and byte transfer.
 */
export function mpiexecPlacement(flavor: CMpi['flavor'], w: MpiWhere, dir: string): { args: string[]; env: Record<string, string> } {
  const args: string[] = [];
  const env: Record<string, string> = flavor === 'mpich' ? {} : { ...ompiEnv };
  if (flavor === 'openmpi') {
    if (w.hostfile) {
      const file = join(dir, 'hostfile.openmpi');
      writeFileSync(file, readHostfile(w.hostfile).map((h) => `${h.name} slots=${h.slots}`).join('\n') + '\n');
      args.push('--hostfile', file);
    } else if (w.hosts) args.push('--host', w.hosts);
    if (w.ssh) env.OMPI_MCA_plm_rsh_agent = w.ssh;
    if (w.iface) env.OMPI_MCA_btl_tcp_if_include = env.OMPI_MCA_oob_tcp_if_include = ifaceName(w.iface);
  } else {
    if (w.hostfile) args.push('-f', w.hostfile);
    else if (w.hosts) args.push('-hosts', w.hosts);
    if (w.ssh) {
      const wrapper = join(dir, 'ssh-launcher');
      writeFileSync(wrapper, `#!/bin/sh\nexec ${w.ssh} "$@"\n`, { mode: 0o755 });
      args.push('-launcher', 'ssh', '-launcher-exec', wrapper);
    }
    if (w.iface) args.push('-iface', ifaceName(w.iface));
  }
  return { args, env };
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
