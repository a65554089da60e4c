// `--bind-to core` on the rank's host (run by its proxy): Node has no affinity API, so each
// rank is started through `taskset -c CPUS` (util-linux). The host's cores are the CPUs the
// proxy may run on (its own affinity: a cgroup/cpuset limit counts), hardware threads of one
// core grouped together (sysfs topology). On a big.LITTLE board (cores of different capacity
// or top frequency) the fastest cores come first, so a job smaller than the board gets the big
// cores; otherwise cores go in CPU order. Ranks take cores in rank order and wrap around when
// there are more ranks than cores.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Command } from './script.js';
import { rangeList } from './rank-list.js';
import { findOnPath } from './script.js';

export interface Core {
  /** The core's first logical CPU (what "core N" means in the reports). */
  id: number;
  cpus: number[];
  /** cpu_capacity (arm) or the top frequency in kHz; 0 when unknown. */
  capacity: number;
  /** Set when the host's cores differ: "big" / "LITTLE" (and, for three classes, "middle"). */
  kind?: string;
  maxMHz?: number;
}

/** "0-2,5" -> [0, 1, 2, 5]. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let c = a; c <= b; c++) out.push(c);
  }
  return out;
}

/** [0, 1, 2, 5] -> "0-2,5". */
export function formatCpuList(cpus: readonly number[]): string {
  return rangeList([...cpus].sort((a, b) => a - b)).join(',');
}

function readNum(file: string): number | undefined {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The CPUs this process may run on (Cpus_allowed_list of /proc/self/status). */
export function allowedCpus(status = '/proc/self/status'): number[] {
  const m = /^Cpus_allowed_list:\s*(.*)$/m.exec(readText(status) ?? '');
  return m ? parseCpuList(m[1]!) : [];
}

/** This host's cores among `allowed`, in the order ranks take them. `sys` is /sys/devices/system/cpu. */
export function hostCores(allowed: readonly number[], sys = '/sys/devices/system/cpu'): Core[] {
  const byKey = new Map<string, Core>();
  for (const cpu of [...allowed].sort((a, b) => a - b)) {
    const topo = join(sys, `cpu${cpu}`, 'topology');
    const pkg = readNum(join(topo, 'physical_package_id')) ?? 0;
    const coreId = readNum(join(topo, 'core_id'));
    const key = coreId === undefined ? `cpu${cpu}` : `${pkg}:${coreId}`;
    let core = byKey.get(key);
    if (!core) {
      const cap = readNum(join(sys, `cpu${cpu}`, 'cpu_capacity'));
      const khz = readNum(join(sys, `cpu${cpu}`, 'cpufreq', 'cpuinfo_max_freq'));
      core = { id: cpu, cpus: [], capacity: cap ?? khz ?? 0, ...(khz ? { maxMHz: Math.round(khz / 1000) } : {}) };
      byKey.set(key, core);
    }
    core.cpus.push(cpu);
  }
  const cores = [...byKey.values()];
  const classes = [...new Set(cores.map((c) => c.capacity))].sort((a, b) => b - a);
  if (classes.length > 1) {
    // heterogeneous (big.LITTLE): fastest first, CPU order within a class
    cores.sort((a, b) => b.capacity - a.capacity || a.id - b.id);
    for (const c of cores) {
      const k = classes.indexOf(c.capacity);
      c.kind = k === 0 ? 'big' : k === classes.length - 1 ? 'LITTLE' : 'middle';
    }
  }
  return cores;
}

/** The core of each of `n` ranks (in local rank order), wrapping around. */
export function assignCores(n: number, cores: readonly Core[]): Core[] {
  return Array.from({ length: n }, (_, i) => cores[i % cores.length]!);
}

/** `rank R bound to core C (cpus L; big core, 2208 MHz)`, prefixed with the host like Open MPI's report. */
export function bindingReport(rank: number, core: Core | undefined, allowed: readonly number[], host = hostname()): string {
  if (!core) return `[${host}] rank ${rank} is not bound (cpus ${formatCpuList(allowed)})`;
  const kind = core.kind ? `; ${core.kind} core${core.maxMHz ? `, ${core.maxMHz} MHz` : ''}` : '';
  return `[${host}] rank ${rank} bound to core ${core.id} (cpus ${formatCpuList(core.cpus)}${kind})`;
}

/** `cmd` run through taskset, pinned to `core`; throws a message naming the host when taskset is missing. */
export function boundCommand(cmd: Command, core: Core, taskset = findOnPath('taskset')): Command {
  if (!taskset) throw new Error(`--bind-to core needs taskset (util-linux) on host ${hostname()}, and it is not on PATH`);
  return { file: taskset, args: ['-c', formatCpuList(core.cpus), cmd.file, ...cmd.args] };
}
