// What the driver tells a benchmark job (one JSON argument) and what rank 0 prints back:
// lines that start with LINE_PREFIX followed by one JSON object.
import type { KernelName } from './kernels.js';

export const LINE_PREFIX = '@orchid-bench ';

export interface MicroSpec {
  /** ping-pong message sizes in bytes (needs >= 2 ranks) */
  p2pSizes: number[];
  /** collective message sizes in bytes */
  collSizes: number[];
  collectives: Array<'bcast' | 'allreduce' | 'alltoall' | 'barrier'>;
  /** multiplies the iteration counts */
  scale: number;
  repeats: number;
}

export interface KernelSpec {
  kernel: KernelName;
  scaling: 'strong' | 'weak';
  /** strong: the problem size; weak: the size per rank (see weakRun) */
  base: number;
  repeats: number;
}

export interface JobSpec {
  micro?: MicroSpec;
  kernels?: KernelSpec[];
  /** run the kernels with a piscina pool in each rank */
  hybrid?: boolean;
  /** force the pool size (default: the host's cores / local ranks) */
  threads?: number;
}

export type RankLine =
  | { type: 'job'; hosts: string[]; ranks: number; localSizes: number[]; threads: number; transport: string; hostDetails?: HostDetail[] }
  | { type: 'micro'; benchmark: string; size: number; unit: string; iters: number; samples: number[] }
  | { type: 'kernel'; kernel: KernelName; scaling: 'strong' | 'weak' | 'hybrid'; size: number; threads: number; samples: number[]; verified: boolean; detail: string }
  | { type: 'error'; message: string };

/** What each host of a job says about itself (from its first local rank). */
export interface HostDetail {
  name: string;
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  node: string;
  arch: string;
}
