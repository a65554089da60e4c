// The HPC Challenge reference (Debian's `hpcc`, linked against Open MPI or MPICH and a BLAS):
// find it, the mpiexec of its MPI and the BLAS it runs with (here); write its input and parse
// its summary (hpcc-files.ts); run it under that mpiexec on the bench's hosts (hpcc-run.ts).
// This module re-exports both, so it stays the one to import.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants as fsConstants, readdirSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { shellQuote } from '../launcher/ssh.js';
import { ompiEnv, type MpiFlavor } from './mpi-placement.js';

export { HPCC_KEYS, hpccInput, parseHpccOutput, type HpccSummary } from './hpcc-files.js';
export { runHpcc, type HpccRun, type HpccRunOptions, type HpccRunResult } from './hpcc-run.js';

export interface Hpcc {
  /** the hpcc executable (remote hosts must have it at the same path) */
  binary: string;
  /** the mpiexec of the MPI hpcc is linked against */
  mpiexec: string;
  flavor: MpiFlavor;
  /** extra mpiexec flags (Open MPI: --oversubscribe, as the C reference) */
  flags: string[];
  /** libmpi hpcc loads (resolved), null when ldd did not say */
  mpiLibrary: string | null;
  /** first line of `mpiexec --version` */
  mpiVersion: string;
  /** short name of the BLAS hpcc runs with: "OpenBLAS 0.3.21 (pthread)", "reference BLAS (netlib)" … */
  blas: string;
  blasKind: 'openblas' | 'reference' | 'atlas' | 'blis' | 'mkl' | 'flexiblas' | 'unknown';
  /** the library behind libblas.so.3 (realpath), null when not found */
  blasPath: string | null;
}

const NOT_FOUND = 'HPCC reference skipped: hpcc not found (Debian/Ubuntu: apt-get install hpcc libopenblas0; Arch: build it from source)';

function which(cmd: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${shellQuote(cmd)}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function realpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** `ldd binary` as soname -> path ('not found' kept as such); empty when ldd cannot tell. */
function ldd(binary: string): Map<string, string> {
  const libs = new Map<string, string>();
  let out = '';
  try {
    out = execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? '');
  }
  for (const line of out.split('\n')) {
    const m = /^\s*(\S+)\s+=>\s+(not found|\S+)/.exec(line);
    if (m) libs.set(m[1]!, m[2]!);
  }
  return libs;
}

function mpiexecFlavorOf(path: string): Hpcc['flavor'] {
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, ...ompiEnv } });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  if (/open ?mpi|openrte|open-mpi/i.test(text)) return 'openmpi';
  if (/hydra|mpich/i.test(text)) return 'mpich';
  return 'unknown';
}

function versionLine(path: string): string {
  const r = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000, env: { ...process.env, ...ompiEnv } });
  const lines = `${r.stdout ?? ''}`.split('\n').map((l) => l.trim()).filter(Boolean);
  // Hydra: "HYDRA build details:" then "Version: 4.0.2"
  const v = lines.find((l) => /^Version:/.test(l));
  return v && /hydra/i.test(lines[0] ?? '') ? `MPICH (Hydra) ${v.replace(/^Version:\s*/, '')}` : (lines[0] ?? '');
}

const MULTIARCH: Record<string, string> = {
  x64: 'x86_64-linux-gnu',
  arm64: 'aarch64-linux-gnu',
  arm: 'arm-linux-gnueabihf',
  ia32: 'i386-linux-gnu',
  riscv64: 'riscv64-linux-gnu',
  ppc64: 'powerpc64le-linux-gnu',
  s390x: 's390x-linux-gnu',
};

function multiarchOf(path: string | null): string {
  const m = path ? /\/lib\/([a-z0-9_]+-linux-gnu[a-z]*)\//.exec(path) : null;
  return m?.[1] ?? MULTIARCH[process.arch] ?? `${process.arch}-linux-gnu`;
}

function variantOf(dir: string): string {
  const m = /-(pthread|openmp|serial)$/.exec(basename(dir));
  return m ? (m[1] === 'openmp' ? 'OpenMP' : m[1]!) : '';
}

/** What BLAS `libs` (ldd of hpcc) gives it: Debian's libblas.so.3 alternative, or a BLAS linked directly. */
function describeBlas(libs: Map<string, string>): { blas: string; blasKind: Hpcc['blasKind']; blasPath: string | null } {
  const direct = [...libs.keys()].find((k) => /^lib(openblas|blis|mkl_rt|flexiblas|satlas|tatlas|f77blas|cblas|blas)\b/.test(k));
  const soname = libs.has('libblas.so.3') ? 'libblas.so.3' : direct;
  const linked = soname ? libs.get(soname)! : undefined;
  if (!linked || linked === 'not found') return { blas: 'unknown BLAS', blasKind: 'unknown', blasPath: null };
  const real = realpath(linked);
  const low = real.toLowerCase();
  const dir = dirname(real);
  if (/openblas/.test(low)) {
    // the version is in the name of the library itself (Debian: openblas-pthread/libopenblasp-r0.3.21.so)
    const names = [...[...libs.values()].filter((p) => /openblas/i.test(p)).map((p) => basename(realpath(p))), basename(real)];
    try {
      names.push(...readdirSync(dir).filter((f) => /^libopenblas/.test(f)));
    } catch {
      /* no listing */
    }
    const version = names.map((n) => /-r(\d+\.\d+(?:\.\d+)?)/.exec(n)?.[1]).find(Boolean);
    let variant = variantOf(dir);
    if (!variant) {
      const n = names.map((x) => /^libopenblas([po])?-r/.exec(x)).find(Boolean);
      if (n) variant = n[1] === 'p' ? 'pthread' : n[1] === 'o' ? 'OpenMP' : 'serial';
    }
    return { blas: `OpenBLAS${version ? ` ${version}` : ''}${variant ? ` (${variant})` : ''}`, blasKind: 'openblas', blasPath: real };
  }
  if (/blis/.test(low)) {
    const variant = variantOf(dir);
    return { blas: `BLIS${variant ? ` (${variant})` : ''}`, blasKind: 'blis', blasPath: real };
  }
  if (/atlas/.test(low)) {
    const version = /\.so\.(\d+\.\d+\.\d+)$/.exec(real)?.[1];
    return { blas: `ATLAS${version ? ` ${version}` : ''}`, blasKind: 'atlas', blasPath: real };
  }
  if (/mkl/.test(low)) return { blas: 'Intel MKL', blasKind: 'mkl', blasPath: real };
  if (/flexiblas/.test(low)) return { blas: 'FlexiBLAS (backend chosen at run time)', blasKind: 'flexiblas', blasPath: real };
  // Debian's libblas3 (blas/libblas.so.3.11.0), or a plain libblas.so from netlib LAPACK
  if (/\/blas\/libblas\.so|\/libblas\.so(\.\d+)*$/.test(low)) return { blas: 'reference BLAS (netlib)', blasKind: 'reference', blasPath: real };
  return { blas: `unknown BLAS (${basename(real)})`, blasKind: 'unknown', blasPath: real };
}

const MPI_NAME: Record<Hpcc['flavor'], string> = { openmpi: 'Open MPI', mpich: 'MPICH', unknown: 'an unknown MPI' };

/** Locate hpcc, the mpiexec of the MPI it is linked against and the BLAS it runs with. */
export function findHpcc(): { hpcc: Hpcc | null; note: string } {
  const wanted = process.env.ORCHID_BENCH_HPCC;
  const binary = wanted ? (wanted.includes('/') ? (isExecutableFile(wanted) ? wanted : null) : which(wanted)) : which('hpcc');
  if (!binary) return { hpcc: null, note: wanted ? `${NOT_FOUND}; ORCHID_BENCH_HPCC=${wanted} is not an executable` : NOT_FOUND };

  const libs = ldd(binary);
  const missing = [...libs].filter(([, p]) => p === 'not found').map(([k]) => k);
  if (missing.length) {
    const blasHint = missing.some((m) => /blas|lapack/.test(m)) ? ' (apt-get install libopenblas0)' : '';
    return { hpcc: null, note: `HPCC reference skipped: ${binary} cannot start, libraries not found: ${missing.join(', ')}${blasHint}` };
  }

  // the MPI it is linked against: Open MPI's libmpi.so.40, MPICH's libmpich.so.12 (or its ABI name libmpi.so.12)
  const mpiSoname = [...libs.keys()].find((k) => /^libmpi(ch)?\.so/.test(k));
  const mpiLibrary = mpiSoname ? realpath(libs.get(mpiSoname)!) : null;
  const linkedFlavor: Hpcc['flavor'] = !mpiSoname ? 'unknown' : /^libmpich|^libmpi\.so\.12$/.test(mpiSoname) ? 'mpich' : 'openmpi';

  let mpiexec: string | null = null;
  let flavor: Hpcc['flavor'] = linkedFlavor;
  const override = process.env.ORCHID_BENCH_HPCC_MPIEXEC;
  if (override) {
    mpiexec = override.includes('/') ? (isExecutableFile(override) ? override : null) : which(override);
    if (!mpiexec) return { hpcc: null, note: `HPCC reference skipped: ORCHID_BENCH_HPCC_MPIEXEC=${override} is not an executable` };
    flavor = mpiexecFlavorOf(mpiexec);
  } else {
    // a private install first (PREFIX/lib/libmpi.so -> PREFIX/bin/mpiexec), then the distribution's names
    const names =
      linkedFlavor === 'mpich'
        ? ['mpiexec.mpich', 'mpiexec.hydra', 'mpiexec', 'mpirun']
        : linkedFlavor === 'openmpi'
          ? ['mpiexec.openmpi', 'mpirun.openmpi', 'mpiexec', 'mpirun']
          : ['mpiexec', 'mpirun'];
    const candidates = [...(mpiLibrary ? [join(dirname(dirname(mpiLibrary)), 'bin', 'mpiexec')] : []), ...names];
    for (const c of candidates) {
      const path = c.includes('/') ? (isExecutableFile(c) ? c : null) : which(c);
      if (!path) continue;
      const f = mpiexecFlavorOf(path);
      if (linkedFlavor === 'unknown' || f === linkedFlavor) {
        mpiexec = path;
        flavor = f;
        break;
      }
    }
    if (!mpiexec) {
      const pkg = linkedFlavor === 'mpich' ? 'mpich' : 'openmpi-bin';
      return { hpcc: null, note: `HPCC reference skipped: ${binary} is linked against ${MPI_NAME[linkedFlavor]} (${mpiLibrary ?? 'no libmpi'}) but no ${MPI_NAME[linkedFlavor]} mpiexec was found (apt-get install ${pkg}, or set ORCHID_BENCH_HPCC_MPIEXEC)` };
    }
  }

  const blas = describeBlas(libs);
  const notes: string[] = [];
  if (blas.blasKind === 'reference') {
    const ma = multiarchOf(blas.blasPath);
    notes.push(
      `HPCC: hpcc runs with the reference BLAS (netlib, ${blas.blasPath}), which is slow: HPL and DGEMM will be far below what the machine can do; ` +
        `select OpenBLAS: apt-get install libopenblas0 && update-alternatives --set libblas.so.3-${ma} /usr/lib/${ma}/openblas-pthread/libblas.so.3`,
    );
  } else if (blas.blasKind === 'unknown') notes.push(`HPCC: could not tell which BLAS ${binary} runs with (${blas.blas})`);
  if (override && linkedFlavor !== 'unknown' && flavor !== linkedFlavor)
    notes.push(`HPCC: ${binary} is linked against ${MPI_NAME[linkedFlavor]} but ORCHID_BENCH_HPCC_MPIEXEC is ${MPI_NAME[flavor]}'s`);

  const hpcc: Hpcc = {
    binary,
    mpiexec,
    flavor,
    flags: flavor === 'mpich' ? [] : ['--oversubscribe'],
    mpiLibrary,
    mpiVersion: versionLine(mpiexec),
    ...blas,
  };
  return { hpcc, note: notes.join('; ') };
}
