// What the driver tells a benchmark job (one JSON argument) and what rank 0 prints back:
// lines that start with LINE_PREFIX followed by one JSON object.
import type { KernelProfile } from './comm-share.js';
import type { KernelName } from './kernels.js';
import type { HostInfo, ThermalReading } from './hostinfo.js';

export const LINE_PREFIX = '@orchid-bench ';

/** Two ranks that ping-pong, and whether they share a host ('intra') or cross the link ('inter'). */
export interface Pair {
  a: number;
  b: number;
  placement: 'intra' | 'inter';
}

export interface MicroSpec {
  /** ping-pong message sizes in bytes */
  p2pSizes: number[];
  /** collective message sizes in bytes */
  collSizes: number[];
  collectives: Array<'bcast' | 'allreduce' | 'alltoall' | 'barrier'>;
  /** multiplies the iteration counts */
  scale: number;
  repeats: number;
  /** the pairs to ping-pong (default: ranks 0 and 1, 'intra'); empty: no ping-pong */
  pairs?: Pair[];
  /** leave the collectives out (a job that only measures point-to-point) */
  noCollectives?: boolean;
}

export interface KernelSpec {
  kernel: KernelName;
  scaling: 'strong' | 'weak';
  /** strong: the problem size; weak: the size per rank (see weakRun); hpl: N at one rank */
  base: number;
  repeats: number;
}

/** Every pair of hosts in turn (one rank per host): small-message latency and 4 MB streaming bandwidth. */
export interface LinkSpec {
  bytes: number;
  messages: number;
  latencyIters: number;
  repeats: number;
}

export interface JobSpec {
  micro?: MicroSpec;
  kernels?: KernelSpec[];
  links?: LinkSpec;
  /** run the kernels with a piscina pool in each rank */
  hybrid?: boolean;
  /** force the pool size (default: the host's cores / local ranks) */
  threads?: number;
}

/** Temperatures and clocks of one host before and after a kernel (from its first local rank). */
export interface ThermalSample {
  host: string;
  before: ThermalReading;
  after: ThermalReading;
  /** what throttling was seen between the two, in words (null: none) */
  throttled: string | null;
}

export type RankLine =
  | { type: 'job'; hosts: string[]; ranks: number; localSizes: number[]; threads: number; transport: string; hostDetails?: HostDetail[] }
  | { type: 'micro'; benchmark: string; size: number; unit: string; iters: number; samples: number[]; placement?: 'intra' | 'inter'; peer?: number }
  | {
      type: 'kernel'; kernel: KernelName; scaling: 'strong' | 'weak' | 'hybrid'; size: number; threads: number; samples: number[]; verified: boolean; detail: string;
      /** units of work of one run (see KERNEL_RATES), so rate = work / seconds */
      work?: number; thermal?: ThermalSample[];
      /** orchid bench --profile: the time its ranks spent in orchid calls */
      profile?: KernelProfile;
    }
  | { type: 'link'; a: string; b: string; latencyUs: number[]; mbps: number[] }
  | { type: 'error'; message: string };

/** What each host of a job says about itself (from its first local rank), and the address its ranks advertise. */
export type HostDetail = HostInfo & { address?: string };
