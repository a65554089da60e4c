// results.json: a versioned schema and a small checker for it (no dependencies).
import type { Summary } from './stats.js';
import type { HostInfo } from './hostinfo.js';
import type { ThermalSample } from './protocol.js';
import type { KernelProfile } from './comm-share.js';

// 2: node sweeps (nodes, ppn, layout), rates, the link matrix, hpcc, per-host hardware, warnings
// 3: --profile: a kernel run's time in orchid calls (Measurement.profile, Results.profiled)
export const SCHEMA = 'orchid-bench/3';
export const SCHEMA_V1 = 'orchid-bench/1';
export const SCHEMA_V2 = 'orchid-bench/2';

export interface Measurement extends Summary {
  /** micro: ping-pong and collectives; kernel: application kernels; single: one process, benchmark.js */
  kind: 'micro' | 'kernel' | 'single';
  /** the name, for micro and single measurements */
  benchmark?: string;
  /** the name, for kernels */
  kernel?: string;
  /** 'orchid' (JavaScript over a transport) or 'c-mpi' (the C reference in bench/c) */
  impl: 'orchid' | 'c-mpi';
  /** ws | mpi for orchid; the MPI library's transport "c-mpi" for C; "none" in one process */
  transport: string;
  ranks: number;
  /** number of distinct hosts the ranks ran on */
  hosts: number;
  /** nodes of the sweep (= hosts) and ranks per node; layout says it as "nodes × ppn" */
  nodes: number;
  ppn: number;
  layout: string;
  /** ping-pong: both ranks on one host ('intra') or across the link ('inter') */
  placement?: 'intra' | 'inter';
  /** threads per rank (hybrid mode: the piscina pool size) */
  threads: number;
  /** bytes for micro-benchmarks; the problem size for kernels */
  size: number;
  /** us, MB/s, s, ops/s */
  unit: string;
  /** kernels: strong | weak | hybrid */
  scaling?: 'strong' | 'weak' | 'hybrid';
  /** kernels: did the answer check out in every run */
  verified?: boolean;
  detail?: string;
  /** kernels: against 1 rank x 1 thread of the same kernel and scaling (weak: scaled speedup) */
  speedup?: number;
  efficiency?: number;
  /** micro, orchid: this median / the C median of the same benchmark, ranks and size (bandwidth: C / this) */
  ratioToC?: number;
  iters?: number;
  /** kernels: work / median seconds in rateUnit (GFLOP/s, M cell-updates/s …), and per node */
  rate?: number;
  rateUnit?: string;
  ratePerNode?: number;
  /** kernels, node sweep: against one node (the single board) of the same kernel and transport */
  speedupVsNode?: number;
  efficiencyVsNode?: number;
  /** kernels: temperatures and clocks per host before and after */
  thermal?: ThermalSample[];
  /** inter-node bandwidth: this median / the link's line rate */
  lineRatio?: number;
  /** kernels, with --profile: the share of the timed repeats its ranks spent in orchid calls, the top calls, bytes sent */
  profile?: KernelProfile;
}

/** One pair of hosts of the link matrix. */
export interface LinkResult extends Summary {
  a: string;
  b: string;
  /** median one-way latency of 8 B, µs */
  latencyUs: number;
  /** the line rate both ends have, Mbit/s */
  lineMbps: number;
  /** median MB/s over line rate in MB/s */
  lineRatio: number;
  /** why this link looks wrong (null: it does not) */
  flag: string | null;
}

/** The HPC Challenge reference at one node count (see hpcc.ts). */
export interface HpccResult {
  nodes: number;
  ranks: number;
  layout: string;
  n: number;
  nb: number;
  p: number;
  q: number;
  passed: boolean;
  hplGflops: number;
  seconds: number;
  /** every value of hpcc's summary section */
  summary: Record<string, number | string>;
}

export interface Environment {
  hostnames: string[];
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  os: string;
  arch: string;
  node: string;
  orchid: { version: string; git: string | null };
  mpi: { library: string; version: string; mpicc: string; mpiexec: string } | null;
  transports: string[];
  notes: string[];
  /** every host the jobs ran on, as it describes itself (the driver's host may not run ranks) */
  hostDetails?: HostInfo[];
  /** the line rate links are set against, and where it came from */
  linkRate?: { mbps: number; source: string };
  /** the BLAS hpcc ran with, and its MPI */
  hpcc?: { binary: string; blas: string; mpiexec: string } | null;
  /** 1-minute load average of this host when the run started and ended (others' work skews timings) */
  loadAverage?: { start: number; end?: number };
}

export interface Results {
  schema: typeof SCHEMA;
  label: string;
  partial: boolean;
  quick: boolean;
  started: string;
  finished: string;
  command: string;
  rankCounts: number[];
  /** 'ranks': one host, 1, 2, 4 … ranks; 'nodes': several hosts, 1, 2, 4 … nodes with every slot */
  sweep: 'ranks' | 'nodes';
  nodeCounts: number[];
  environment: Environment;
  measurements: Measurement[];
  links: LinkResult[];
  hpcc: HpccResult[];
  /** what a careful reader should know before trusting the figures */
  warnings: string[];
  /** --profile: the kernel jobs ran with the recorder on (kernel rows carry `profile`) */
  profiled?: boolean;
  failures: Array<{ what: string; message: string }>;
}

type Check = (v: unknown) => boolean;
const isNum: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const isPosInt: Check = (v) => Number.isInteger(v) && (v as number) >= 1;
const isNonNegInt: Check = (v) => Number.isInteger(v) && (v as number) >= 0;
const isStr: Check = (v) => typeof v === 'string';
const isBool: Check = (v) => typeof v === 'boolean';
const opt = (c: Check): Check => (v) => v === undefined || c(v);
const arrOf = (c: Check): Check => (v) => Array.isArray(v) && v.every(c);
const oneOf = (...xs: unknown[]): Check => (v) => xs.includes(v);
const isShare: Check = (v) => isNum(v) && (v as number) >= 0 && (v as number) <= 1;
const isNonNeg: Check = (v) => isNum(v) && (v as number) >= 0;

function fields(obj: unknown, where: string, spec: Record<string, Check>, errors: string[]): void {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    errors.push(`${where}: not an object`);
    return;
  }
  for (const [k, c] of Object.entries(spec)) {
    if (!c((obj as Record<string, unknown>)[k])) errors.push(`${where}.${k}: bad value ${JSON.stringify((obj as Record<string, unknown>)[k])}`);
  }
}

/** Every way `value` differs from the schema (empty: valid). */
export function validateResults(value: unknown): string[] {
  const errors: string[] = [];
  fields(value, 'results', {
    schema: oneOf(SCHEMA), label: isStr, partial: isBool, quick: isBool, started: isStr, finished: isStr, command: isStr,
    rankCounts: arrOf(isPosInt), measurements: Array.isArray, failures: Array.isArray, environment: (v) => typeof v === 'object' && v !== null,
    sweep: oneOf('ranks', 'nodes'), nodeCounts: arrOf(isPosInt), links: Array.isArray, hpcc: Array.isArray, warnings: arrOf(isStr), profiled: opt(isBool),
  }, errors);
  if (errors.length) return errors;
  const r = value as Results;
  fields(r.environment, 'environment', {
    hostnames: arrOf(isStr), cpuModel: isStr, cores: isPosInt, memoryBytes: isNum, os: isStr, arch: isStr, node: isStr,
    orchid: (v) => typeof v === 'object' && v !== null && isStr((v as { version: unknown }).version),
    mpi: (v) => v === null || (typeof v === 'object' && isStr((v as { library: unknown }).library)),
    transports: arrOf(isStr), notes: arrOf(isStr),
    hostDetails: opt(arrOf((h) => typeof h === 'object' && h !== null && isStr((h as { name: unknown }).name) && isPosInt((h as { cores: unknown }).cores))),
  }, errors);
  r.measurements.forEach((m, i) => {
    const where = `measurements[${i}]`;
    fields(m, where, {
      kind: oneOf('micro', 'kernel', 'single'), impl: oneOf('orchid', 'c-mpi'), transport: isStr, ranks: isPosInt, hosts: isPosInt,
      nodes: isPosInt, ppn: isPosInt, layout: isStr, placement: opt(oneOf('intra', 'inter')), rate: opt(isNum), rateUnit: opt(isStr),
      ratePerNode: opt(isNum), speedupVsNode: opt(isNum), efficiencyVsNode: opt(isNum), lineRatio: opt(isNum), thermal: opt(Array.isArray),
      threads: isPosInt, size: isNonNegInt, unit: isStr, median: isNum, min: isNum, max: isNum, mad: isNum, spread: isNum,
      repeats: isPosInt, samples: arrOf(isNum), benchmark: opt(isStr), kernel: opt(isStr), scaling: opt(oneOf('strong', 'weak', 'hybrid')),
      verified: opt(isBool), detail: opt(isStr), speedup: opt(isNum), efficiency: opt(isNum), ratioToC: opt(isNum), iters: opt(isPosInt),
    }, errors);
    if (typeof m !== 'object' || m === null) return;
    if (m.kind === 'kernel') {
      if (!isStr(m.kernel)) errors.push(`${where}: a kernel measurement needs "kernel"`);
      if (!isBool(m.verified)) errors.push(`${where}: a kernel measurement needs "verified"`);
      if (!m.scaling) errors.push(`${where}: a kernel measurement needs "scaling"`);
    } else if (!isStr(m.benchmark)) errors.push(`${where}: a ${m.kind} measurement needs "benchmark"`);
    if (Array.isArray(m.samples) && m.samples.length !== m.repeats) errors.push(`${where}: ${m.samples.length} samples but repeats ${m.repeats}`);
    if (m.kind === 'kernel' && m.rate !== undefined && !isStr(m.rateUnit)) errors.push(`${where}: a rate needs "rateUnit"`);
    if (m.profile !== undefined) {
      if (m.kind !== 'kernel') errors.push(`${where}: only a kernel measurement has "profile"`);
      fields(m.profile, `${where}.profile`, {
        wallMs: isNonNeg, share: isShare, maxShare: isShare, maxRank: isNonNegInt, minShare: isShare, minRank: isNonNegInt, sentBytes: isNonNeg, sentMsgs: isNonNegInt,
        calls: arrOf((c) => typeof c === 'object' && c !== null && isStr((c as { call: unknown }).call) && isNonNegInt((c as { count: unknown }).count) && isNonNeg((c as { ms: unknown }).ms) && isNonNeg((c as { share: unknown }).share)),
      }, errors);
    }
  });
  r.links.forEach((l, i) => fields(l, `links[${i}]`, { a: isStr, b: isStr, latencyUs: isNum, median: isNum, lineMbps: isNum, lineRatio: isNum, flag: (v) => v === null || isStr(v) }, errors));
  r.hpcc.forEach((h, i) => fields(h, `hpcc[${i}]`, { nodes: isPosInt, ranks: isPosInt, n: isPosInt, passed: isBool, hplGflops: isNum, summary: (v) => typeof v === 'object' && v !== null }, errors));
  r.failures.forEach((f, i) => fields(f, `failures[${i}]`, { what: isStr, message: isStr }, errors));
  return errors;
}

export function measurementName(m: Measurement): string {
  return (m.kernel ?? m.benchmark)!;
}

/**
 * A results file of an earlier schema as the current one. The second reads as it is (the third
 * only added optional fields); the first (rank sweeps on one host, no rates): every row becomes
 * nodes = hosts, ppn = ranks / hosts. Returns other values unchanged.
 */
export function upgradeResults(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if ((value as { schema?: unknown }).schema === SCHEMA_V2) return { ...value, schema: SCHEMA };
  if ((value as { schema?: unknown }).schema !== SCHEMA_V1) return value;
  const r = value as Results & { measurements: Array<Partial<Measurement>> };
  for (const m of r.measurements) {
    const hosts = m.hosts ?? 1;
    m.nodes ??= hosts;
    m.ppn ??= Math.max(1, Math.round((m.ranks ?? 1) / hosts));
    m.layout ??= hosts === 1 && m.ranks === 1 ? '1 rank' : `${hosts} × ${m.ppn}`;
  }
  return { ...r, schema: SCHEMA, sweep: 'ranks', nodeCounts: [1], links: [], hpcc: [], warnings: [] };
}
