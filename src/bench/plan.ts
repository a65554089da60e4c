// What `orchid bench` measures, in quick and full mode.
import type { KernelSpec, MicroSpec } from './protocol.js';
import type { KernelName } from './kernels.js';

export interface Profile {
  micro: MicroSpec;
  strong: Record<KernelName, number>;
  weak: Record<KernelName, number>;
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
  weak: { pi: 50_000_000, matmul: 192, stencil: 300, sort: 500_000, primes: 1_000_000 },
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
  weak: { pi: 200_000_000, matmul: 384, stencil: 700, sort: 2_000_000, primes: 3_000_000 },
  kernelRepeats: 5,
  singleMaxTime: 1,
  jobTimeout: 3600,
};

export function kernelSpecs(p: Profile): KernelSpec[] {
  const out: KernelSpec[] = [];
  for (const k of Object.keys(p.strong) as KernelName[]) out.push({ kernel: k, scaling: 'strong', base: p.strong[k], repeats: p.kernelRepeats });
  for (const k of Object.keys(p.weak) as KernelName[]) out.push({ kernel: k, scaling: 'weak', base: p.weak[k], repeats: p.kernelRepeats });
  return out;
}

/** 1, 2, 4, … up to max, and max itself. */
export function rankCounts(max: number): number[] {
  const out: number[] = [];
  for (let r = 1; r <= max; r *= 2) out.push(r);
  if (out[out.length - 1] !== max) out.push(max);
  return out;
}
