// What `orchid bench` measures, in quick and full mode.
import type { KernelSpec, LinkSpec, MicroSpec } from './protocol.js';
import type { HostSpec } from '../launcher/index.js';
import type { KernelName } from './kernels.js';

export interface Profile {
  micro: MicroSpec;
  strong: Partial<Record<KernelName, number>>;
  /** hpl's entry is N at one rank; full mode replaces it by what the memory allows (hplBase) */
  weak: Partial<Record<KernelName, number>>;
  /** full mode: HPL's matrix takes this fraction of the nodes' memory */
  hplMemFraction?: number;
  /** HPL runs long at full size: fewer repeats than the other kernels */
  hplRepeats: number;
  links: LinkSpec;
  kernelRepeats: number;
  /** seconds per benchmark.js benchmark */
  singleMaxTime: number;
  /** seconds before one job is given up */
  jobTimeout: number;
}

const pow2 = (lo: number, hi: number, step = 2): number[] => {
  const out: number[] = [];
  for (let s = lo; s <= hi; s *= step) out.push(s);
  return out;
};

export const QUICK: Profile = {
  micro: {
    p2pSizes: [8, 64, 512, 4096, 32768, 262144, 1048576, 4194304],
    collSizes: [8, 1024, 65536, 1048576],
    collectives: ['bcast', 'allreduce', 'alltoall', 'barrier'],
    scale: 0.2,
    repeats: 3,
  },
  strong: { pi: 100_000_000, matmul: 256, stencil: 400, sort: 1_000_000, primes: 2_000_000 },
  weak: { pi: 50_000_000, matmul: 192, stencil: 300, sort: 500_000, primes: 1_000_000, hpl: 320 },
  links: { bytes: 4 << 20, messages: 8, latencyIters: 200, repeats: 3 },
  hplRepeats: 3,
  kernelRepeats: 3,
  singleMaxTime: 0.15,
  jobTimeout: 300,
};

export const FULL: Profile = {
  micro: {
    p2pSizes: pow2(8, 4194304, 2),
    collSizes: pow2(8, 4194304, 8),
    collectives: ['bcast', 'allreduce', 'alltoall', 'barrier'],
    scale: 1,
    repeats: 5,
  },
  strong: { pi: 1_000_000_000, matmul: 512, stencil: 1000, sort: 4_000_000, primes: 5_000_000 },
  weak: { pi: 200_000_000, matmul: 384, stencil: 700, sort: 2_000_000, primes: 3_000_000, hpl: 2000 },
  hplMemFraction: 0.4,
  links: { bytes: 4 << 20, messages: 24, latencyIters: 1000, repeats: 5 },
  hplRepeats: 2,
  kernelRepeats: 5,
  singleMaxTime: 1,
  jobTimeout: 3600,
};

/** The kernels of one job; `hplBase` replaces the profile's HPL size at one rank (--hpl-n, or from memory). */
export function kernelSpecs(p: Profile, hplBase?: number): KernelSpec[] {
  const out: KernelSpec[] = [];
  for (const [k, base] of Object.entries(p.strong) as Array<[KernelName, number]>) out.push({ kernel: k, scaling: 'strong', base, repeats: p.kernelRepeats });
  for (const [k, base] of Object.entries(p.weak) as Array<[KernelName, number]>) {
    out.push({ kernel: k, scaling: 'weak', base: k === 'hpl' ? (hplBase ?? base) : base, repeats: k === 'hpl' ? p.hplRepeats : p.kernelRepeats });
  }
  return out;
}

/**
 * HPL's N at one rank such that the matrix (8 N² bytes) of a rank takes `fraction` of its
 * share of the smallest node's memory (ranks per node sharing it); N grows with √ranks
 * from there (hplWeakN), so at every node count the nodes' memory is filled alike.
 */
export function hplBaseFromMemory(memoryBytes: number, ppn: number, fraction: number): number {
  return Math.max(64, Math.floor(Math.sqrt((fraction * memoryBytes) / ppn / 8) / 8) * 8);
}

/** One job of the sweep: `nodes` hosts with `ppn[i]` ranks on the i-th. */
export interface JobShape {
  nodes: number;
  ranks: number;
  /** ranks on each host, in host order */
  perHost: number[];
  hosts: HostSpec[];
  /** "2 × 6", or "2 × (6, 4)" when the hosts differ, or "1 rank" */
  layout: string;
}

export function layoutOf(perHost: number[]): string {
  if (perHost.length === 1 && perHost[0] === 1) return '1 rank';
  const uniform = perHost.every((x) => x === perHost[0]);
  return `${perHost.length} × ${uniform ? perHost[0] : `(${perHost.join(', ')})`}`;
}

/**
 * The jobs of a node sweep over `hosts` (distinct machines, in order): the one-rank
 * baseline, then each node count with every slot of each node (or `ppn`).
 */
export function nodeSweep(hosts: HostSpec[], nodeCounts: number[], ppn?: number): JobShape[] {
  const shape = (k: number, per: number[]): JobShape => ({
    nodes: k,
    ranks: per.reduce((a, b) => a + b, 0),
    perHost: per,
    hosts: hosts.slice(0, k).map((h, i) => ({ name: h.name, slots: per[i]! })),
    layout: layoutOf(per),
  });
  const out: JobShape[] = [shape(1, [1])];
  for (const k of nodeCounts) {
    const per = hosts.slice(0, k).map((h) => ppn ?? h.slots);
    if (k === 1 && per[0] === 1) continue; // the baseline already is this job
    out.push(shape(k, per));
  }
  return out;
}

/** 1, 2, 4, … up to max, and max itself (rank counts on one host; node counts on several). */
export function rankCounts(max: number): number[] {
  const out: number[] = [];
  for (let r = 1; r <= max; r *= 2) out.push(r);
  if (out[out.length - 1] !== max) out.push(max);
  return out;
}
