// What decides benchmark results on small boards, read on the host itself: core types
// (big.LITTLE), clocks and governors, temperatures and throttling, memory, network links and
// the versions of Node, orchid and MPI. Linux is read from /proc and /sys under a root
// directory (so tests can point it at a fake tree); on other OSes node:os fills what it can
// and the rest is null. Everything here is synchronous and every result is plain JSON.
//
// Conventions: frequencies are MHz (sysfs gives kHz; rounded to whole MHz), temperatures °C
// (sysfs gives millidegrees; rounded to 0.1), memory bytes. "cpu" is the kernel's logical CPU
// number (cpuN in /sys, "processor : N" in /proc/cpuinfo).
//
// This module assembles HostInfo (readHostInfo) and compares hosts (versionWarnings); the
// parts live in ./host/: cpu.ts (cpuinfo, ARM core names, core types, governors, clocks),
// thermal.ts (thermal zones, throttle sources, readThermal), throttle-seen.ts (throttleSeen),
// links.ts (network links), sysfs.ts (the file readers). Everything those export for callers
// is re-exported here.
import * as os from 'node:os';
import { join } from 'node:path';
import { version as orchidVersion } from '../cli/usage.js';
import { clean, coreTypes, describeCores, parseCpuinfoFull, readFreqs, readGovernor, type CoreType, type CpuFreqs } from './host/cpu.js';
import { readLinks, type Ifaces, type LinkInfo } from './host/links.js';
import { readLine, readText, sysCpus } from './host/sysfs.js';
import {
  readCooling, readFreqTransitions, readThermalThrottle, readVcgencmdBits, readZones, throttleFrom,
  type ReadOptions, type ThermalZone, type ThrottleInfo,
} from './host/thermal.js';

export { armCoreName, coreTypes, describeCores, parseCpuinfo, summarizeGovernors, type CoreType, type CpuFreqs } from './host/cpu.js';
export { linkRateFor, readLinks, type LinkInfo } from './host/links.js';
export { parseGetThrottled, readThermal, readThrottle, type CoolingDevice, type ReadOptions, type ThermalSample, type ThermalZone, type ThrottleInfo } from './host/thermal.js';
export { CAPPED_FRACTION, throttleSeen, type MaxMHz, type ThermalReading } from './host/throttle-seen.js';

export interface HostInfo {
  /** host name (extras.name, else /proc/sys/kernel/hostname, else os.hostname()) */
  name: string;
  /** node's process.arch / os.arch(): "arm64", "x64", "arm" */
  arch: string;
  /** kernel: "Linux 6.1.0-18-arm64" (os.type() + os.release(), or /proc/sys/kernel/{ostype,osrelease} under sysRoot) */
  os: string;
  /** distribution: PRETTY_NAME of /etc/os-release ("Arch Linux ARM"), null if absent */
  distro: string | null;
  /** board: device-tree model ("Khadas VIM3", "Raspberry Pi 4 Model B Rev 1.4"), else /proc/cpuinfo "Model", else DMI vendor + product; null if none */
  board: string | null;
  /** "4× Cortex-A73 + 2× Cortex-A53" (see describeCores: big cores first) */
  cpuModel: string;
  /** logical cpus online (from /proc/cpuinfo, else os.cpus(), else os.availableParallelism()) */
  cores: number;
  /** os.availableParallelism() of the process that read this (less than cores under a CPU affinity mask) */
  availableParallelism: number;
  /** the cpus grouped by (model, maxMHz), big cores first */
  coreTypes: CoreType[];
  /** cpufreq scaling_governor: "schedutil" when all cpus agree, else "performance ×4, powersave ×2"; null without cpufreq */
  governor: string | null;
  /** per-cpu clocks; null without cpufreq (VMs, non-Linux) */
  freqMHz: CpuFreqs | null;
  /** thermal zones with a readable temperature ([] without /sys/class/thermal) */
  temperatures: ThermalZone[];
  /** what the OS says about throttling; null when it says nothing */
  throttle: ThrottleInfo | null;
  /** MemTotal of /proc/meminfo, else os.totalmem() */
  memoryBytes: number;
  /** MemAvailable of /proc/meminfo, else os.freemem() on a live host; null when unknown */
  memAvailableBytes: number | null;
  /** network interfaces other than loopback, by name */
  links: LinkInfo[];
  /** process.version: "v20.20.2" */
  node: string;
  /** orchid version (extras.orchid, else this package's version) */
  orchid: string;
  /** MPI library, as the caller says (extras.mpi); null when none */
  mpi: string | null;
  /** 1, 5 and 15 minute load averages (/proc/loadavg, else os.loadavg()) */
  loadAverage: number[];
}

// ---------------------------------------------------------------------------------------------
// readHostInfo

function readMeminfo(root: string): Record<string, number> {
  const out: Record<string, number> = {};
  const t = readText(join(root, 'proc/meminfo'));
  if (!t) return out;
  for (const line of t.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s*kB)?/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * (/kB/.test(line) ? 1024 : 1);
  }
  return out;
}

function readOsRelease(root: string): string | null {
  const t = readText(join(root, 'etc/os-release')) ?? readText(join(root, 'usr/lib/os-release'));
  if (!t) return null;
  const m = /^PRETTY_NAME=(.*)$/m.exec(t);
  if (!m) return null;
  return m[1]!.trim().replace(/^(["'])(.*)\1$/, '$2') || null;
}

function readBoard(root: string, cpuinfoGlobal: Record<string, string>): string | null {
  const dt = readLine(join(root, 'proc/device-tree/model')) ?? readLine(join(root, 'sys/firmware/devicetree/base/model'));
  if (dt) return dt;
  if (cpuinfoGlobal.Model) return clean(cpuinfoGlobal.Model);
  const vendor = readLine(join(root, 'sys/class/dmi/id/sys_vendor'));
  const product = readLine(join(root, 'sys/class/dmi/id/product_name'));
  const s = [vendor, product].filter(Boolean).join(' ');
  return s || null;
}

/**
 * This host (or the fake tree at sysRoot): everything in HostInfo. Synchronous; reads files
 * only, except `vcgencmd get_throttled` on a Raspberry Pi (sysRoot "/" only, see ReadOptions).
 */
export function readHostInfo(
  sysRoot = '/',
  extras: { orchid?: string; mpi?: string | null; name?: string; networkInterfaces?: Ifaces } & ReadOptions = {},
): HostInfo {
  const live = sysRoot === '/';
  const cpuinfoText = readText(join(sysRoot, 'proc/cpuinfo'));
  const cpuinfo = cpuinfoText ? parseCpuinfoFull(cpuinfoText) : { cpus: [], global: {} };
  let perCpu = cpuinfo.cpus;
  if (perCpu.length === 0) perCpu = os.cpus().map((c, i) => ({ cpu: i, model: clean(c.model) || 'unknown' }));
  const cpuIds = perCpu.length ? perCpu.map((c) => c.cpu) : sysCpus(sysRoot);

  const freqMHz = readFreqs(sysRoot, cpuIds);
  const maxByCpu = new Map<number, number | null>();
  freqMHz?.cpus.forEach((c, i) => maxByCpu.set(c, freqMHz.max[i] ?? null));
  const types = coreTypes(perCpu, maxByCpu);

  const mem = readMeminfo(sysRoot);
  const load = readLine(join(sysRoot, 'proc/loadavg'))
    ?.split(/\s+/)
    .slice(0, 3)
    .map(Number);
  const ostype = readLine(join(sysRoot, 'proc/sys/kernel/ostype'));
  const osrelease = readLine(join(sysRoot, 'proc/sys/kernel/osrelease'));

  return {
    name: extras.name ?? readLine(join(sysRoot, 'proc/sys/kernel/hostname')) ?? os.hostname(),
    arch: os.arch(),
    os: ostype && osrelease ? `${ostype} ${osrelease}` : `${os.type()} ${os.release()}`,
    distro: readOsRelease(sysRoot),
    board: readBoard(sysRoot, cpuinfo.global),
    cpuModel: describeCores(types),
    cores: perCpu.length || os.availableParallelism(),
    availableParallelism: os.availableParallelism(),
    coreTypes: types,
    governor: readGovernor(sysRoot, cpuIds),
    freqMHz,
    temperatures: readZones(sysRoot),
    throttle: throttleFrom(readThermalThrottle(sysRoot, cpuIds), readVcgencmdBits(sysRoot, extras), readFreqTransitions(sysRoot), readCooling(sysRoot)),
    memoryBytes: mem.MemTotal ?? os.totalmem(),
    memAvailableBytes: mem.MemAvailable ?? (live ? os.freemem() : null),
    links: readLinks(sysRoot, extras.networkInterfaces ?? os.networkInterfaces()),
    node: process.version,
    orchid: extras.orchid ?? orchidVersion(),
    mpi: extras.mpi ?? null,
    loadAverage: load && load.length === 3 && load.every(Number.isFinite) ? load : os.loadavg(),
  };
}

// ---------------------------------------------------------------------------------------------
// versionWarnings

/**
 * One warning per field that differs across hosts (Node, orchid, MPI library, arch):
 * "Node differs across hosts: v20.20.2 on node1, node2; v22.1.0 on node3". [] when all agree.
 */
export function versionWarnings(hosts: ReadonlyArray<Pick<HostInfo, 'name' | 'node' | 'orchid' | 'mpi' | 'arch'>>): string[] {
  const fields: Array<[string, (h: Pick<HostInfo, 'name' | 'node' | 'orchid' | 'mpi' | 'arch'>) => string]> = [
    ['Node', (h) => h.node],
    ['orchid', (h) => h.orchid],
    ['MPI library', (h) => h.mpi ?? 'none'],
    ['arch', (h) => h.arch],
  ];
  const out: string[] = [];
  for (const [label, get] of fields) {
    const groups = new Map<string, string[]>();
    for (const h of hosts) {
      const v = get(h);
      groups.set(v, [...(groups.get(v) ?? []), h.name]);
    }
    if (groups.size > 1) {
      out.push(`${label} differs across hosts: ${[...groups].map(([v, names]) => `${v} on ${names.join(', ')}`).join('; ')}`);
    }
  }
  return out;
}
