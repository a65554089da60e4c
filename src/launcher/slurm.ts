// The slurm bootstrap: inside an allocation (salloc, sbatch), hosts and slots come from
// SLURM_JOB_NODELIST / SLURM_TASKS_PER_NODE and each host's proxy is a one-task job step,
//   srun --nodes=1 --ntasks=1 --nodelist=HOST --overlap --kill-on-bad-exit=1 NODE proxy.js
// speaking the same protocol on the step's stdin/stdout (Hydra's slurm bootstrap does the
// same with its pmi_proxy). Slurm then accounts, confines and cleans up the proxies.
import { execFile, spawn } from 'node:child_process';
import { OrchidError } from '../errors.js';
import type { HostSpec } from './hostfile.js';
import type { HostPlan } from './placement.js';
import { ProxyLink } from './proxy-link.js';

/** Expand a Slurm host list: `node[1-3,07],login` -> node1 node2 node3 node07 login. */
export function expandNodeList(list: string): string[] {
  const out: string[] = [];
  // split at commas outside brackets
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of list.trim()) {
    if (ch === '[') depth++;
    if (ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (cur) parts.push(cur);
  for (const part of parts) {
    const m = /^([^[]*)\[([^\]]+)\](.*)$/.exec(part);
    if (!m) {
      if (part) out.push(part);
      continue;
    }
    const [, prefix, ranges, suffix] = m;
    for (const r of ranges!.split(',')) {
      const [a, b] = r.split('-');
      if (b === undefined) {
        out.push(...expandNodeList(`${prefix}${a}${suffix}`));
        continue;
      }
      const from = Number(a);
      const to = Number(b);
      if (!Number.isInteger(from) || !Number.isInteger(to) || to < from) throw new OrchidError('ERR_ARG', `bad Slurm host list ${JSON.stringify(list)}`);
      for (let n = from; n <= to; n++) out.push(...expandNodeList(`${prefix}${String(n).padStart(a!.length, '0')}${suffix}`));
    }
  }
  return out;
}

/** Expand SLURM_TASKS_PER_NODE: `2(x3),1` -> [2, 2, 2, 1]. */
export function expandTasksPerNode(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:\(x(\d+)\))?$/.exec(part.trim());
    if (!m) throw new OrchidError('ERR_ARG', `bad SLURM_TASKS_PER_NODE ${JSON.stringify(text)}`);
    for (let i = 0; i < Number(m[2] ?? 1); i++) out.push(Number(m[1]));
  }
  return out;
}

export function inAllocation(env = process.env): boolean {
  return Boolean(env.SLURM_JOB_ID && (env.SLURM_JOB_NODELIST || env.SLURM_NODELIST));
}

/** The allocation's hosts with their task counts (slots). */
export function slurmHosts(env = process.env): HostSpec[] {
  if (!inAllocation(env)) {
    throw new OrchidError('ERR_ARG', '--bootstrap slurm: not inside a Slurm allocation (SLURM_JOB_ID / SLURM_JOB_NODELIST are not set); start the job in salloc or sbatch');
  }
  const names = expandNodeList((env.SLURM_JOB_NODELIST || env.SLURM_NODELIST)!);
  const perText = env.SLURM_TASKS_PER_NODE || env.SLURM_JOB_CPUS_PER_NODE;
  const per = perText ? expandTasksPerNode(perText) : names.map(() => 1);
  return names.map((name, i) => ({ name, slots: per[i] ?? per[per.length - 1] ?? 1 }));
}

/** The node's address as Slurm knows it (`scontrol show node`: NodeAddr), if it says. */
export function slurmNodeAddr(name: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(process.env.ORCHID_SCONTROL || 'scontrol', ['show', 'node', '-o', name], { timeout: 5000 }, (err, stdout) => {
      const m = err ? null : /(?:^|\s)NodeAddr=(\S+)/.exec(String(stdout));
      resolve(m ? m[1] : undefined);
    });
  });
}

/** Start one proxy as a job step on `host`. */
export function startSrunProxy(host: HostPlan, proxy: string[]): ProxyLink {
  const srun = process.env.ORCHID_SRUN || 'srun';
  const node = process.env.ORCHID_REMOTE_NODE || process.execPath;
  const args = [
    '--nodes=1',
    '--ntasks=1',
    `--nodelist=${host.name}`,
    '--overlap', // the proxies' steps share the allocation with each other
    '--kill-on-bad-exit=1',
    '--quiet',
    `--job-name=orchid-proxy-${host.name}`,
    node,
    ...proxy,
  ];
  const child = spawn(srun, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: process.env });
  return new ProxyLink(host.name, child, false, 'srun');
}
