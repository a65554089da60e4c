// Placement of ranks on hosts (Hydra-style block placement): each host entry takes
// `slots` (or `--ppn`) consecutive ranks in order; when np exceeds the total, placement
// wraps around the list again (oversubscription, as MPICH allows). `--map-by node` (Open MPI)
// deals ranks one per host round-robin instead, skipping hosts whose slots are full until
// every host is full, then round-robin over all of them.
import { OrchidError } from '../errors.js';
import type { HostSpec } from './hostfile.js';
import { hostKey, isLocalHost } from './hosts.js';

export interface RankPlacement {
  rank: number;
  /** Host name as placed (first spelling of that machine in the host list). */
  host: string;
  localRank: number;
  localSize: number;
}

export interface HostPlan {
  name: string;
  local: boolean;
  /** Ranks on this host, ascending. */
  ranks: number[];
}

export interface Placement {
  np: number;
  ranks: RankPlacement[];
  /** One entry per machine (entries that name the same machine are merged), in first-use order. */
  hosts: HostPlan[];
}

export function placeRanks(hosts: HostSpec[], np?: number, ppn?: number, mapBy: 'slot' | 'node' = 'slot'): Placement {
  if (hosts.length === 0) throw new OrchidError('ERR_ARG', 'no hosts to place ranks on');
  const per = hosts.map((h) => ppn ?? h.slots);
  const total = per.reduce((a, b) => a + b, 0);
  const n = np ?? total;
  if (!Number.isSafeInteger(n) || n < 1) throw new OrchidError('ERR_ARG', `the number of ranks must be a positive integer, got ${n}`);

  const entryOf: number[] = [];
  if (mapBy === 'node') {
    const used = hosts.map(() => 0);
    while (entryOf.length < n) {
      const full = used.every((u, i) => u >= per[i]!);
      for (let i = 0; i < hosts.length && entryOf.length < n; i++) {
        if (!full && used[i]! >= per[i]!) continue;
        entryOf.push(i);
        used[i]!++;
      }
    }
  }
  while (entryOf.length < n) {
    for (let i = 0; i < hosts.length && entryOf.length < n; i++) {
      for (let k = 0; k < per[i]! && entryOf.length < n; k++) entryOf.push(i);
    }
  }

  const byKey = new Map<string, HostPlan>();
  const plans: HostPlan[] = [];
  for (let rank = 0; rank < n; rank++) {
    const spec = hosts[entryOf[rank]!]!;
    const key = hostKey(spec.name);
    let plan = byKey.get(key);
    if (!plan) {
      plan = { name: spec.name, local: isLocalHost(spec.name), ranks: [] };
      byKey.set(key, plan);
      plans.push(plan);
    }
    plan.ranks.push(rank);
  }
  const ranks: RankPlacement[] = new Array(n);
  for (const plan of plans) {
    plan.ranks.forEach((rank, localRank) => {
      ranks[rank] = { rank, host: plan.name, localRank, localSize: plan.ranks.length };
    });
  }
  return { np: n, ranks, hosts: plans };
}
