// Temperatures and throttling as the OS reports them: thermal zones and their trip points,
// CPU cooling devices, the throttle sources (x86 thermal_throttle counters, Raspberry Pi
// `vcgencmd get_throttled`, cpufreq stats), readThrottle and the cheap readThermal sample.
// Judging two samples is ./throttle-seen.ts. Conventions as in ../hostinfo.ts (°C, MHz).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { readGovernor } from './cpu.js';
import { cpuDir, kHzToMHz, listDir, readInt, readLine, sysCpus } from './sysfs.js';

/** A thermal zone (/sys/class/thermal/thermal_zoneN). */
export interface ThermalZone {
  /** "thermal_zone0" */
  zone: string;
  /** the zone's type, e.g. "cpu-thermal", "x86_pkg_temp", "ddr-thermal" */
  type: string;
  /** current temperature, °C */
  celsius: number;
  /** the lowest trip point of type passive, hot or critical (where the kernel starts throttling or acting), °C; null if none */
  tripCelsius: number | null;
  /** that trip point's type ("passive" | "hot" | "critical"), null if none */
  tripType: string | null;
}

/** A thermal cooling device that slows the CPU (type "cpufreq-cpuN", "thermal-cpufreq-N" or ACPI "Processor"). */
export interface CoolingDevice {
  /** "cooling_device0" */
  device: string;
  /** "cpufreq-cpu0" */
  type: string;
  /** current cooling state: 0 = not cooling; higher = lower clock cap */
  cur: number;
  /** highest state */
  max: number;
}

/** Where the OS tells about CPU throttling, and what it says now. */
export interface ThrottleInfo {
  /**
   * "thermal_throttle" (x86: sum of cpu*\/thermal_throttle/core_throttle_count plus
   * package_throttle_count once per package), "vcgencmd get_throttled" (Raspberry Pi firmware)
   * or "cpufreq stats total_trans" (number of clock changes since boot; a sign of throttling only
   * under governor performance). The first available, in that order.
   */
  source: string;
  /** throttle events since boot (thermal_throttle), clock changes since boot (cpufreq stats), null for vcgencmd */
  count: number | null;
  /** the get_throttled bit field (vcgencmd only), else null */
  bits: number | null;
  /** in words: the vcgencmd bits set ("under-voltage now", "throttled has occurred", …) and any CPU cooling device in a state > 0 */
  flags: string[];
}

/** One cheap reading of temperatures, clocks and throttle counters (see readThermal). */
export interface ThermalSample {
  /** Date.now() when read */
  time: number;
  /** the hottest zone, °C; null without thermal zones */
  maxCelsius: number | null;
  zones: ThermalZone[];
  /** the cpus of freqMHz and scalingMaxMHz, in order */
  freqCpus: number[];
  /** scaling_cur_freq of each cpu in freqCpus, MHz; null without cpufreq */
  freqMHz: number[] | null;
  /** scaling_max_freq of each cpu in freqCpus (the effective cap), MHz; null without cpufreq */
  scalingMaxMHz: Array<number | null> | null;
  /** as HostInfo.governor */
  governor: string | null;
  /** x86 thermal_throttle events since boot (see ThrottleInfo); null when not available */
  throttleCount: number | null;
  /** Raspberry Pi vcgencmd get_throttled bits; null when not available */
  throttleBits: number | null;
  /** sum of cpufreq policy*\/stats/total_trans (clock changes since boot); null when not available */
  freqTransitions: number | null;
  /** CPU cooling devices */
  cooling: CoolingDevice[];
}

export interface ReadOptions {
  /**
   * Path of vcgencmd to run for get_throttled; false: never run it. Default: look for it on
   * PATH and in /usr/bin, /opt/vc/bin, but only when sysRoot is "/" (a fake tree runs nothing).
   */
  vcgencmd?: string | false;
}

// ---------------------------------------------------------------------------------------------
// Thermal zones, cooling devices, throttle counters

const TRIP_TYPES = new Set(['passive', 'hot', 'critical']);

export function readZones(root: string): ThermalZone[] {
  const base = join(root, 'sys/class/thermal');
  const zones: ThermalZone[] = [];
  const names = listDir(base)
    .filter((n) => /^thermal_zone\d+$/.test(n))
    .sort((a, b) => Number(a.slice(12)) - Number(b.slice(12)));
  for (const zone of names) {
    const d = join(base, zone);
    const milli = readInt(join(d, 'temp'));
    if (milli === null) continue; // unreadable (e.g. a Wi-Fi sensor while the radio is off)
    const celsius = Math.round(milli / 100) / 10;
    if (celsius < -60 || celsius > 200) continue; // bogus
    let tripCelsius: number | null = null;
    let tripType: string | null = null;
    for (const f of listDir(d)) {
      const m = /^trip_point_(\d+)_type$/.exec(f);
      if (!m) continue;
      const t = readLine(join(d, f));
      const temp = readInt(join(d, `trip_point_${m[1]}_temp`));
      if (!t || !TRIP_TYPES.has(t) || temp === null || temp <= 0) continue;
      const c = Math.round(temp / 100) / 10;
      if (tripCelsius === null || c < tripCelsius) {
        tripCelsius = c;
        tripType = t;
      }
    }
    zones.push({ zone, type: readLine(join(d, 'type')) ?? 'unknown', celsius, tripCelsius, tripType });
  }
  return zones;
}

export function readCooling(root: string): CoolingDevice[] {
  const base = join(root, 'sys/class/thermal');
  const out: CoolingDevice[] = [];
  for (const device of listDir(base).filter((n) => /^cooling_device\d+$/.test(n))) {
    const d = join(base, device);
    const type = readLine(join(d, 'type'));
    if (!type || !/cpufreq|^Processor$/.test(type)) continue;
    const cur = readInt(join(d, 'cur_state'));
    const max = readInt(join(d, 'max_state'));
    if (cur === null || max === null) continue;
    out.push({ device, type, cur, max });
  }
  return out.sort((a, b) => Number(a.device.slice(14)) - Number(b.device.slice(14)));
}

/** x86: core_throttle_count of every cpu + package_throttle_count once per physical package. */
export function readThermalThrottle(root: string, cpus: number[]): number | null {
  let sum = 0;
  let any = false;
  const packages = new Set<string>();
  for (const c of cpus) {
    const d = join(cpuDir(root, c), 'thermal_throttle');
    const core = readInt(join(d, 'core_throttle_count'));
    if (core !== null) {
      sum += core;
      any = true;
    }
    const pkg = readInt(join(d, 'package_throttle_count'));
    if (pkg !== null) {
      const id = readLine(join(cpuDir(root, c), 'topology/physical_package_id')) ?? '?';
      if (!packages.has(id)) {
        packages.add(id);
        sum += pkg;
      }
      any = true;
    }
  }
  return any ? sum : null;
}

export function readFreqTransitions(root: string): number | null {
  const base = join(root, 'sys/devices/system/cpu/cpufreq');
  let sum = 0;
  let any = false;
  for (const p of listDir(base).filter((n) => /^policy\d+$/.test(n))) {
    const n = readInt(join(base, p, 'stats/total_trans'));
    if (n !== null) {
      sum += n;
      any = true;
    }
  }
  return any ? sum : null;
}

export const THROTTLE_BITS = ['under-voltage', 'arm frequency capped', 'throttled', 'soft temperature limit'];

/**
 * The output of `vcgencmd get_throttled` ("throttled=0x50005"). Bits 0-3: under-voltage, arm
 * frequency capped, throttled, soft temperature limit — now; bits 16-19: the same has occurred
 * since boot. null if the text has no throttled= value.
 */
export function parseGetThrottled(text: string): { bits: number; now: string[]; occurred: string[]; flags: string[] } | null {
  const m = /throttled\s*=\s*(0x[0-9a-f]+|\d+)/i.exec(text);
  if (!m) return null;
  const bits = Number(m[1]);
  const now = THROTTLE_BITS.filter((_, i) => bits & (1 << i));
  const occurred = THROTTLE_BITS.filter((_, i) => bits & (1 << (16 + i)));
  return { bits, now, occurred, flags: [...now.map((w) => `${w} now`), ...occurred.map((w) => `${w} has occurred`)] };
}

let vcgencmdFound: string | null | undefined; // undefined: not looked for yet
let vcgencmdBroken = false;

function findVcgencmd(): string | null {
  if (vcgencmdFound !== undefined) return vcgencmdFound;
  vcgencmdFound = null;
  if (process.platform === 'linux') {
    const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/opt/vc/bin'];
    for (const d of dirs) {
      const p = join(d, 'vcgencmd');
      if (existsSync(p)) {
        vcgencmdFound = p;
        break;
      }
    }
  }
  return vcgencmdFound;
}

export function readVcgencmdBits(root: string, opts: ReadOptions | undefined): number | null {
  let cmd: string | null;
  const auto = opts?.vcgencmd === undefined;
  if (opts?.vcgencmd === false) return null;
  if (auto) {
    if (root !== '/' || vcgencmdBroken) return null;
    cmd = findVcgencmd();
  } else {
    cmd = opts!.vcgencmd as string;
  }
  if (!cmd) return null;
  try {
    const out = execFileSync(cmd, ['get_throttled'], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
    const parsed = parseGetThrottled(out);
    if (!parsed && auto) vcgencmdBroken = true;
    return parsed ? parsed.bits : null;
  } catch {
    if (auto) vcgencmdBroken = true; // e.g. no access to /dev/vchiq: don't pay for a spawn every sample
    return null;
  }
}

export function coolingFlags(cooling: CoolingDevice[]): string[] {
  return cooling.filter((c) => c.cur > 0).map((c) => `${c.type} at cooling state ${c.cur} of ${c.max}`);
}

export function throttleFrom(count: number | null, bits: number | null, transitions: number | null, cooling: CoolingDevice[]): ThrottleInfo | null {
  const flags = coolingFlags(cooling);
  if (count !== null) return { source: 'thermal_throttle', count, bits: null, flags };
  if (bits !== null) return { source: 'vcgencmd get_throttled', count: null, bits, flags: [...parseGetThrottled(`throttled=${bits}`)!.flags, ...flags] };
  if (transitions !== null) return { source: 'cpufreq stats total_trans', count: transitions, bits: null, flags };
  if (flags.length) return { source: 'thermal cooling devices', count: null, bits: null, flags };
  return null;
}

/** What the OS says about throttling now (see ThrottleInfo); null when it says nothing (as in most VMs). */
export function readThrottle(sysRoot = '/', opts?: ReadOptions): ThrottleInfo | null {
  return throttleFrom(readThermalThrottle(sysRoot, sysCpus(sysRoot)), readVcgencmdBits(sysRoot, opts), readFreqTransitions(sysRoot), readCooling(sysRoot));
}

/**
 * Temperatures, clocks and throttle counters now: cheap enough to call before and after each
 * benchmark kernel (a few dozen small sysfs reads; on a Raspberry Pi also one vcgencmd spawn).
 */
export function readThermal(sysRoot = '/', opts?: ReadOptions): ThermalSample {
  const zones = readZones(sysRoot);
  const cpus = sysCpus(sysRoot);
  const freqCpus: number[] = [];
  const freqMHz: number[] = [];
  const scalingMaxMHz: Array<number | null> = [];
  for (const c of cpus) {
    const d = join(cpuDir(sysRoot, c), 'cpufreq');
    const cur = kHzToMHz(readInt(join(d, 'scaling_cur_freq')));
    if (cur === null) continue;
    freqCpus.push(c);
    freqMHz.push(cur);
    scalingMaxMHz.push(kHzToMHz(readInt(join(d, 'scaling_max_freq'))));
  }
  return {
    time: Date.now(),
    maxCelsius: zones.length ? Math.max(...zones.map((z) => z.celsius)) : null,
    zones,
    freqCpus,
    freqMHz: freqCpus.length ? freqMHz : null,
    scalingMaxMHz: freqCpus.length ? scalingMaxMHz : null,
    governor: readGovernor(sysRoot, cpus),
    throttleCount: readThermalThrottle(sysRoot, cpus),
    throttleBits: readVcgencmdBits(sysRoot, opts),
    freqTransitions: readFreqTransitions(sysRoot),
    cooling: readCooling(sysRoot),
  };
}
