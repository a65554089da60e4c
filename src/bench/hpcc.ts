// The HPC Challenge reference (Debian's `hpcc`, linked against Open MPI or MPICH and a BLAS):
// find it and what it runs with, write its input (hpccinf.txt), run it under its own MPI's
// mpiexec on the bench's hosts, and parse its summary (hpccoutf.txt).
//
// hpcc has no command line: rank 0 reads hpccinf.txt from its working directory and appends
// to hpccoutf.txt there. mpiexec runs in `dir`; when rank 0 lands on a remote host (the first
// host of the list) that does not share this file system, the input is copied there over ssh
// first (to the same path: Open MPI and Hydra start remote ranks in mpiexec's directory when it
// exists there), the output is fetched back afterwards and what was created there is removed.
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism, networkInterfaces } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parseHostList, readHostfile, type HostSpec } from '../launcher/hostfile.js';
import { isLocalHost } from '../launcher/hosts.js';
import { shellQuote, splitCommand, sshArgs } from '../launcher/ssh.js';

export interface Hpcc {
  /** the hpcc executable (remote hosts must have it at the same path) */
  binary: string;
  /** the mpiexec of the MPI hpcc is linked against */
  mpiexec: string;
  flavor: 'openmpi' | 'mpich' | 'unknown';
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

export interface HpccSummary {
  HPL_Tflops: number;
  HPL_N: number;
  HPL_NB: number;
  HPL_nprow: number;
  HPL_npcol: number;
  HPL_time: number;
  StarDGEMM_Gflops: number;
  SingleDGEMM_Gflops: number;
  StarSTREAM_Triad: number;
  SingleSTREAM_Triad: number;
  PTRANS_GBs: number;
  MPIRandomAccess_GUPs: number;
  StarRandomAccess_GUPs: number;
  RandomlyOrderedRingLatency_usec: number;
  RandomlyOrderedRingBandwidth_GBytes: number;
  NaturallyOrderedRingLatency_usec: number;
  NaturallyOrderedRingBandwidth_GBytes: number;
  CommWorldProcs: number;
  /** HPL ran and its scaled residual passed the check (every HPL test of the run) */
  hplPassed: boolean;
  /** HPL's scaled residual ||Ax-b||_oo / (eps (||A||_oo ||x||_oo + ||b||_oo) N), null if unknown */
  hplResidual: number | null;
  /** the threshold it is checked against (hpccinf.txt line 13) */
  hplThreshold: number;
  /** hpcc's Success=1: every test of the run passed its own check */
  success: boolean;
  /** every Key=Value of the summary section (numbers where the value is one) */
  all: Record<string, number | string>;
}

/** The summary keys parseHpccOutput requires (typed fields of HpccSummary). */
export const HPCC_KEYS = [
  'HPL_Tflops',
  'HPL_N',
  'HPL_NB',
  'HPL_nprow',
  'HPL_npcol',
  'HPL_time',
  'StarDGEMM_Gflops',
  'SingleDGEMM_Gflops',
  'StarSTREAM_Triad',
  'SingleSTREAM_Triad',
  'PTRANS_GBs',
  'MPIRandomAccess_GUPs',
  'StarRandomAccess_GUPs',
  'RandomlyOrderedRingLatency_usec',
  'RandomlyOrderedRingBandwidth_GBytes',
  'NaturallyOrderedRingLatency_usec',
  'NaturallyOrderedRingBandwidth_GBytes',
  'CommWorldProcs',
] as const;

type Key = (typeof HPCC_KEYS)[number];

const NOT_FOUND = 'HPCC reference skipped: hpcc not found (Debian/Ubuntu: apt-get install hpcc libopenblas0; Arch: build it from source)';

const ompiEnv = { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', OMPI_MCA_rmaps_base_oversubscribe: '1' };

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

function positiveInt(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new RangeError(`hpcc: ${what} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * hpccinf.txt: HPL.dat's 31 lines (one N, one NB, one row-major P x Q grid, HPL's usual
 * panel/broadcast settings, threshold 16.0), then hpcc's PTRANS lines with no additional
 * sizes: PTRANS then runs at N/2 (its two matrices together take the memory of HPL's one),
 * and STREAM, RandomAccess, FFT and DGEMM size themselves from HPL's memory (8 N^2 / PQ bytes
 * per process), so the whole run scales with N. Lines 1-4 and 32 are not read; hpcc reads
 * 82 characters of a line at most.
 */
export function hpccInput(o: { n: number; nb: number; p: number; q: number; tag?: string }): string {
  const n = positiveInt(o.n, 'N');
  const nb = positiveInt(o.nb, 'NB');
  const p = positiveInt(o.p, 'P');
  const q = positiveInt(o.q, 'Q');
  const row = (value: string | number, comment: string) => `${String(value).padEnd(12)} ${comment}`;
  const tag = (o.tag ?? 'orchid bench').replace(/[\r\n]/g, ' ').slice(0, 78);
  return [
    'HPLinpack benchmark input file',
    tag,
    row('HPL.out', 'output file name (if any)'),
    row(6, 'device out (6=stdout,7=stderr,file)'),
    row(1, '# of problems sizes (N)'),
    row(n, 'Ns'),
    row(1, '# of NBs'),
    row(nb, 'NBs'),
    row(0, 'PMAP process mapping (0=Row-,1=Column-major)'),
    row(1, '# of process grids (P x Q)'),
    row(p, 'Ps'),
    row(q, 'Qs'),
    row('16.0', 'threshold'),
    row(1, '# of panel fact'),
    row(2, 'PFACTs (0=left, 1=Crout, 2=Right)'),
    row(1, '# of recursive stopping criterium'),
    row(4, 'NBMINs (>= 1)'),
    row(1, '# of panels in recursion'),
    row(2, 'NDIVs'),
    row(1, '# of recursive panel fact.'),
    row(1, 'RFACTs (0=left, 1=Crout, 2=Right)'),
    row(1, '# of broadcast'),
    row(1, 'BCASTs (0=1rg,1=1rM,2=2rg,3=2rM,4=Lng,5=LnM)'),
    row(1, '# of lookahead depth'),
    row(1, 'DEPTHs (>=0)'),
    row(2, 'SWAP (0=bin-exch,1=long,2=mix)'),
    row(64, 'swapping threshold'),
    row(0, 'L1 in (0=transposed,1=no-transposed) form'),
    row(0, 'U  in (0=transposed,1=no-transposed) form'),
    row(1, 'Equilibration (0=no,1=yes)'),
    row(8, 'memory alignment in double (> 0)'),
    '##### This line (no. 32) is ignored (it serves as a separator). ######',
    row(0, 'Number of additional problem sizes for PTRANS'),
    row(Math.max(1, Math.floor(n / 2)), 'values of N (none read: PTRANS runs at N/2)'),
    row(0, 'number of additional blocking sizes for PTRANS'),
    row(nb, 'values of NB (none read: PTRANS uses NB)'),
    '',
  ].join('\n');
}

function sectionOf(text: string, name: string): string | null {
  const begin = text.lastIndexOf(`Begin of ${name} section.`);
  if (begin < 0) return null;
  const end = text.indexOf(`End of ${name} section.`, begin);
  return end < 0 ? null : text.slice(begin, end);
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

/** Parse hpccoutf.txt: its (last) summary section, and HPL's residual check. */
export function parseHpccOutput(text: string): HpccSummary {
  const begin = text.lastIndexOf('Begin of Summary section.');
  if (begin < 0) {
    const sections = [...text.matchAll(/^Begin of (\S+) section\./gm)].map((m) => m[1]);
    const last = sections.at(-1);
    throw new Error(
      `hpccoutf.txt has no summary section ("Begin of Summary section." not found): hpcc did not finish` +
        (last ? ` (the last section it began: ${last}${text.includes(`End of ${last} section.`) ? '' : ', not ended'})` : text.trim() ? '' : ' (the file is empty)'),
    );
  }
  const end = text.indexOf('End of Summary section.', begin);
  if (end < 0) throw new Error('hpccoutf.txt: the summary section is incomplete ("End of Summary section." not found): the file was cut short');
  const all: Record<string, number | string> = {};
  for (const line of text.slice(begin, end).split('\n').slice(1)) {
    const i = line.indexOf('=');
    if (i <= 0) continue;
    const key = line.slice(0, i).trim();
    const value = line.slice(i + 1).trim();
    all[key] = NUMBER.test(value) ? Number(value) : value;
  }
  const missing = HPCC_KEYS.filter((k) => all[k] === undefined);
  if (missing.length) throw new Error(`hpccoutf.txt: the summary section lacks ${missing.join(', ')}`);
  const num = (k: string): number => (typeof all[k] === 'number' ? (all[k] as number) : Number.NaN);

  // HPL's own verdict: "||Ax-b||_oo/(eps*(||A||_oo*||x||_oo+||b||_oo)*N)= 0.0059226 ...... PASSED"
  const hpl = sectionOf(text, 'HPL') ?? '';
  const threshold = Number(/residuals are less than\s+([0-9.eE+-]+)/.exec(hpl)?.[1] ?? 16);
  const checks = [...hpl.matchAll(/^\|\|Ax-b\|\|.*=\s*([-+0-9.eE]+|nan|-?inf)\s*\.+\s*(PASSED|FAILED)/gim)];
  let hplResidual: number | null = null;
  let hplPassed: boolean;
  if (checks.length) {
    hplResidual = Number(checks.at(-1)![1]);
    hplPassed = checks.every((m) => m[2]!.toUpperCase() === 'PASSED');
  } else {
    // no HPL section (trimmed output): the same residual from the summary's norms
    const r = num('HPL_RnormI') / (num('HPL_eps') * (num('HPL_AnormI') * num('HPL_XnormI') + num('HPL_BnormI')) * num('HPL_N'));
    hplResidual = Number.isFinite(r) && r >= 0 ? r : null;
    hplPassed = hplResidual !== null && hplResidual < threshold;
  }
  if (!(num('HPL_Tflops') > 0)) hplPassed = false; // HPL did not run (hpcc's -1000 Gflops default)

  const typed = Object.fromEntries(HPCC_KEYS.map((k) => [k, num(k)])) as Record<Key, number>;
  return { ...typed, hplPassed, hplResidual, hplThreshold: threshold, success: all.Success === 1, all };
}

export interface HpccRunOptions {
  ranks: number;
  n: number;
  nb: number;
  p: number;
  q: number;
  /** "a,b:2,c" (host or host:slots) */
  hosts?: string;
  /** MPICH `host:slots` or Open MPI `host slots=N` lines */
  hostfile?: string;
  /** ssh command line for the remote hosts, e.g. "ssh -F /tmp/orchid-cluster-oc/ssh_config" */
  ssh?: string;
  /** the network the ranks talk over: an interface name of this host, an address of it, or a CIDR */
  iface?: string;
  timeoutMs: number;
  /** a fresh directory of this host (hpccinf.txt and hpccoutf.txt go there) */
  dir: string;
  /** BLAS threads per rank (default 1: one rank per core, as HPL is meant to be run) */
  blasThreads?: number;
  /**
   * Open MPI: ranks give up the CPU while they wait (mpi_yield_when_idle). For ranks that share
   * cores (more ranks than cores, an emulated cluster on one machine): otherwise a waiting rank
   * spins away the time slice its peer needs and every message costs a scheduler tick (~4 ms).
   * Default: when all ranks run here and outnumber its cores.
   */
  yieldWhenIdle?: boolean;
}

export interface HpccRunResult {
  summary: HpccSummary | null;
  code: number | null;
  /** mpiexec's stderr and stdout (the last 64 KiB), with what staging on remote hosts said */
  stderr: string;
  /** wall time of mpiexec */
  seconds: number;
  timedOut: boolean;
  /** why summary is null */
  error: string | null;
  /** hpccoutf.txt on this host (fetched from rank 0's host when that does not share the file system) */
  outFile: string | null;
  /** the mpiexec command line run (shell-quoted), for the record */
  command: string;
}

export interface HpccRun {
  promise: Promise<HpccRunResult>;
  child: ChildProcess;
}

/** The network `iface` names, as Open MPI's *_if_include wants it on every host: a CIDR. */
function ifaceCidr(iface: string): string {
  if (/^[0-9.]+\/\d+$/.test(iface) || /^[0-9a-f:]+\/\d+$/i.test(iface)) return iface;
  const nets = networkInterfaces();
  const addrs = isIP(iface) ? Object.values(nets).flatMap((a) => a ?? []).filter((a) => a.address === iface) : (nets[iface] ?? []);
  const a = addrs.find((x) => x.family === 'IPv4') ?? addrs[0];
  if (!a) {
    if (isIP(iface)) throw new Error(`hpcc: iface ${iface} is not an address of this host; give an interface name or a network (a.b.c.d/n)`);
    return iface; // not an interface here: maybe one the hosts have
  }
  if (a.family !== 'IPv4') return a.cidr ?? iface;
  const bits = Number(a.cidr?.split('/')[1] ?? 32);
  const ip = a.address.split('.').reduce((x, o) => (x << 8) | Number(o), 0) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  const net = (ip & mask) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${bits}`;
}

/** The interface name for MPICH's -iface (which every host must have under that name). */
function ifaceName(iface: string): string {
  const nets = networkInterfaces();
  if (nets[iface]) return iface;
  const addr = iface.split('/')[0]!;
  if (!isIP(addr)) return iface;
  const bits = Number(iface.split('/')[1] ?? 32);
  for (const [name, addrs] of Object.entries(nets)) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4') continue;
      if (bits === 32 ? a.address === addr : ifaceCidr(name) === ifaceCidr(iface)) return name;
    }
  }
  throw new Error(`hpcc: iface ${iface} is not an interface or network of this host`);
}

function mergeHosts(specs: HostSpec[]): HostSpec[] {
  const out: HostSpec[] = [];
  for (const s of specs) {
    const same = out.find((h) => h.name === s.name);
    if (same) same.slots += s.slots;
    else out.push({ ...s });
  }
  return out;
}

// On a remote host: nothing to do when it sees our hpccinf.txt (a shared file system), else
// create the directory (printing the topmost directory created, for removal), the input and
// the ssh wrapper (Open MPI's daemons there check that the launch agent exists, even when
// they launch nothing: without it they stop, and a daemonized one says nothing).
const STAGE = `d=$1; tok=$2; agent=$3
if [ -f "$d/hpccinf.txt" ] && grep -qF -- "$tok" "$d/hpccinf.txt"; then cat >/dev/null; echo shared; exit 0; fi
t=$d; top=
while [ ! -e "$t" ]; do top=$t; t=$(dirname "$t"); done
mkdir -p "$d" && rm -f "$d/hpccoutf.txt" && cat >"$d/hpccinf.txt" || exit 1
if [ -n "$agent" ]; then printf '%s' "$agent" >"$d/ssh" && chmod 700 "$d/ssh" || exit 1; fi
echo "created $top"`;

interface Staged {
  host: string;
  /** topmost directory created there ('' when the directory existed) */
  top: string;
}

function tail(s: string, max = 64 * 1024): string {
  return s.length > max ? s.slice(s.length - max) : s;
}

/**
 * mpiexec -n RANKS hpcc in `dir` on the hosts, in the MPI's own syntax; killed (its process
 * group) after timeoutMs. Throws only for impossible arguments.
 */
export function runHpcc(h: Hpcc, o: HpccRunOptions): HpccRun {
  const ranks = positiveInt(o.ranks, 'ranks');
  if (o.p * o.q > ranks) throw new RangeError(`hpcc: a ${o.p} x ${o.q} grid needs ${o.p * o.q} ranks, got ${ranks} (HPL stops with "Need at least ${o.p * o.q} processes" and hpcc hangs)`);
  if (o.hosts !== undefined && o.hostfile !== undefined) throw new Error('hpcc: give either hosts or a hostfile, not both');
  const dir = o.dir;
  mkdirSync(dir, { recursive: true });
  const token = `orchid-hpcc-${randomBytes(8).toString('hex')}`;
  const input = hpccInput({ n: o.n, nb: o.nb, p: o.p, q: o.q, tag: `orchid bench run ${token}` });
  const outFile = join(dir, 'hpccoutf.txt');
  rmSync(outFile, { force: true }); // hpcc appends
  writeFileSync(join(dir, 'hpccinf.txt'), input);

  const hosts = o.hostfile !== undefined ? mergeHosts(readHostfile(o.hostfile)) : o.hosts !== undefined ? mergeHosts(parseHostList(o.hosts)) : undefined;
  const remote = (hosts ?? []).filter((x) => !isLocalHost(x.name)).map((x) => x.name);
  const ssh = splitCommand(o.ssh ?? 'ssh');
  let log = '';
  // the ssh command line as one executable: Hydra takes no arguments with -launcher-exec, and
  // Open MPI splits plm_rsh_agent at blanks and colons without quoting; the path exists on every host
  const agent = o.ssh !== undefined && remote.length ? `#!/bin/sh\nexec ${ssh.map(shellQuote).join(' ')} "$@"\n` : '';
  const agentPath = join(dir, 'ssh');
  if (agent) writeFileSync(agentPath, agent, { mode: 0o700 });

  // rank 0 (on the first host) reads hpccinf.txt from mpiexec's directory: make it exist there
  // (without it hpcc runs on with built-in sizes: a run that means nothing, and a long one)
  const rank0 = hosts?.[0]?.name;
  const staged: Staged[] = [];
  let unstaged: string | null = null;
  for (const host of remote) {
    const r = spawnSync(ssh[0]!, sshArgs(ssh, host, ['sh', '-c', STAGE, 'sh', dir, token, agent]), { input, encoding: 'utf8', timeout: 30_000 });
    const said = (r.stdout ?? '').trim();
    if (said.startsWith('created')) staged.push({ host, top: said.slice('created'.length).trim() });
    else if (said !== 'shared') {
      const why = `could not put hpccinf.txt on ${host}: ${(r.stderr ?? '').trim() || r.error?.message || `exit ${r.status}`}`;
      log += `orchid: ${why}\n`;
      if (host === rank0) unstaged = `${why} (rank 0 reads it there)`;
    }
  }

  const args: string[] = [...h.flags];
  const env: NodeJS.ProcessEnv = { ...process.env };
  const threads = String(positiveInt(o.blasThreads ?? 1, 'blasThreads'));
  const threadEnv = { OPENBLAS_NUM_THREADS: threads, OMP_NUM_THREADS: threads, BLIS_NUM_THREADS: threads, MKL_NUM_THREADS: threads };
  Object.assign(env, threadEnv);
  const yieldIdle = o.yieldWhenIdle ?? (remote.length === 0 && ranks > availableParallelism());
  if (h.flavor === 'mpich') {
    if (o.hostfile !== undefined) {
      const f = join(dir, 'hostfile');
      writeFileSync(f, hosts!.map((x) => `${x.name}:${x.slots}\n`).join(''));
      args.push('-f', f);
    } else if (hosts) args.push('-hosts', hosts.map((x) => `${x.name}:${x.slots}`).join(','));
    if (agent) args.push('-launcher', 'ssh', '-launcher-exec', agentPath);
    if (o.iface !== undefined) args.push('-iface', ifaceName(o.iface));
    // Hydra passes this environment to every rank
  } else {
    Object.assign(env, ompiEnv);
    if (o.hostfile !== undefined) {
      const f = join(dir, 'hostfile');
      writeFileSync(f, hosts!.map((x) => `${x.name} slots=${x.slots}\n`).join(''));
      args.push('--hostfile', f);
    } else if (hosts) args.push('--host', hosts.map((x) => `${x.name}:${x.slots}`).join(','));
    // no tree spawn: only this host runs ssh (the files ssh -F names need not exist elsewhere)
    if (agent) args.push('--mca', 'plm_rsh_agent', agentPath, '--mca', 'plm_rsh_no_tree_spawn', '1');
    if (o.iface !== undefined) {
      const cidr = ifaceCidr(o.iface);
      args.push('--mca', 'btl_tcp_if_include', cidr, '--mca', 'oob_tcp_if_include', cidr);
    }
    if (yieldIdle) args.push('--mca', 'mpi_yield_when_idle', '1');
    // Open MPI passes only what -x names to remote ranks
    for (const [k, v] of Object.entries(threadEnv)) args.push('-x', `${k}=${v}`);
  }
  args.push('-n', String(ranks), h.binary);

  const started = Date.now();
  const command = [h.mpiexec, ...args].map(shellQuote).join(' ');
  // rank 0 would have no input: mpiexec is not started (a no-op stands in for it)
  const child = unstaged
    ? spawn('sh', ['-c', ':'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
    : spawn(h.mpiexec, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let err = log;
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (err = tail(err + s)));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err = tail(err + s)));
  let timedOut = false;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      /* gone */
    }
  };
  let killTimer: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    // mpiexec tears the remote daemons down on SIGTERM; SIGKILL if it does not end
    signal('SIGTERM');
    killTimer = setTimeout(() => signal('SIGKILL'), 3000);
  }, o.timeoutMs);

  const sshRun = (host: string, remoteCmd: string[]) =>
    new Promise<{ out: string; ok: boolean; err: string }>((resolve) =>
      execFile(ssh[0]!, sshArgs(ssh, host, remoteCmd), { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 * 1024 * 1024 }, (e, out, se) =>
        resolve({ out: String(out ?? ''), ok: !e, err: String(se ?? '') || String(e ?? '') }),
      ),
    );

  const finish = async (code: number | null): Promise<HpccRunResult> => {
    clearTimeout(timer);
    if (killTimer) clearTimeout(killTimer);
    signal('SIGKILL'); // nothing of the job outlives mpiexec
    const seconds = (Date.now() - started) / 1000;
    let text: string | null = !unstaged && existsSync(outFile) ? readFileSync(outFile, 'utf8') : null;
    if (text === null && !unstaged && rank0 !== undefined && staged.some((s) => s.host === rank0)) {
      const r = await sshRun(rank0, ['cat', join(dir, 'hpccoutf.txt')]);
      if (r.ok) {
        text = r.out;
        writeFileSync(outFile, text);
      } else err = tail(`${err}orchid: could not fetch hpccoutf.txt from ${rank0}: ${r.err.trim()}\n`);
    }
    for (const s of staged) {
      const cmd = s.top ? ['rm', '-rf', '--', s.top] : ['rm', '-f', '--', join(dir, 'hpccinf.txt'), join(dir, 'hpccoutf.txt'), agentPath];
      await sshRun(s.host, cmd);
    }
    let summary: HpccSummary | null = null;
    let error: string | null = null;
    if (unstaged) error = `hpcc not started: ${unstaged}`;
    else if (text === null) error = `hpcc wrote no hpccoutf.txt${timedOut ? ` (killed after ${o.timeoutMs} ms)` : code !== 0 ? ` (mpiexec exit ${code})` : ''}`;
    else {
      try {
        summary = parseHpccOutput(text);
      } catch (e) {
        error = `${(e as Error).message}${timedOut ? ` (killed after ${o.timeoutMs} ms)` : ''}`;
      }
    }
    return { summary, code: unstaged ? null : code, stderr: err, seconds, timedOut, error, outFile: text === null ? null : outFile, command };
  };

  const promise = new Promise<HpccRunResult>((resolve) => {
    let done = false;
    child.on('close', (code) => {
      if (done) return;
      done = true;
      void finish(code).then(resolve);
    });
    child.on('error', (e) => {
      if (done) return;
      done = true;
      err += `orchid: cannot start ${h.mpiexec}: ${e.message}\n`;
      void finish(-1).then(resolve);
    });
  });
  return { promise, child };
}
