// What decides benchmark results on small boards, read on the host itself: core types
// (big.LITTLE), clocks and governors, temperatures and throttling, memory, network links and
// the versions of Node, orchid and MPI. Linux is read from /proc and /sys under a root
// directory (so tests can point it at a fake tree); on other OSes node:os fills what it can
// and the rest is null. Everything here is synchronous and every result is plain JSON.
//
// Conventions: frequencies are MHz (sysfs gives kHz; rounded to whole MHz), temperatures °C
// (sysfs gives millidegrees; rounded to 0.1), memory bytes. "cpu" is the kernel's logical CPU
// number (cpuN in /sys, "processor : N" in /proc/cpuinfo).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import * as os from 'node:os';
import { delimiter, join } from 'node:path';
import { version as orchidVersion } from '../cli/usage.js';

// ---------------------------------------------------------------------------------------------
// Types

/** One kind of core on the host: cpus of equal model and equal maximum clock. */
export interface CoreType {
  /** "Cortex-A73" (decoded from ARM "CPU implementer"/"CPU part"), else /proc/cpuinfo "model name" (x86), else what node:os says */
  model: string;
  /** how many logical cpus are of this type */
  count: number;
  /** hardware maximum clock (cpufreq cpuinfo_max_freq), null when cpufreq is absent (VMs, non-Linux) */
  maxMHz: number | null;
  /** the logical cpu numbers, ascending */
  cpus: number[];
}

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

/** A network interface (not loopback). */
export interface LinkInfo {
  /** "eth0" */
  iface: string;
  /** /sys/class/net/<if>/speed as the OS says it (virtual interfaces such as veth say 10000); -1 or unreadable (link down, Wi-Fi) → null */
  speedMbps: number | null;
  /** "full" | "half" | "unknown"; unreadable → null */
  duplex: string | null;
  /** "up" | "down" | "unknown" | "dormant" | … ("unknown" when unreadable) */
  operstate: string;
  /** IPv4 and IPv6 addresses (node:os networkInterfaces()) */
  addresses: string[];
  /** MAC address, null if unreadable */
  mac: string | null;
  /** MTU, null if unreadable */
  mtu: number | null;
  /** a software interface (bridge, veth, tun, ifb…: /sys/devices/virtual/net); null when unknown (non-Linux) */
  virtual: boolean | null;
  /** a Wi-Fi interface (/sys/class/net/<if>/wireless); null when unknown (non-Linux) */
  wireless: boolean | null;
}

/**
 * Per-cpu clocks, MHz. Every array is aligned with `cpus` (online cpus that have a cpufreq
 * directory); an entry is null when that one file is unreadable.
 */
export interface CpuFreqs {
  cpus: number[];
  /** scaling_cur_freq (else cpuinfo_cur_freq): the clock now */
  cur: Array<number | null>;
  /** cpuinfo_max_freq (else scaling_max_freq): the hardware maximum */
  max: Array<number | null>;
  /** cpuinfo_min_freq (else scaling_min_freq): the hardware minimum */
  min: Array<number | null>;
  /** scaling_max_freq: the effective cap (user limits and, on mainline kernels, thermal caps lower it below max) */
  scalingMax: Array<number | null>;
}

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
// ARM core names: "CPU implementer" / "CPU part" of /proc/cpuinfo, checked against util-linux
// sys-utils/lscpu-arm.c (2025). Only the parts one may meet on boards, phones, servers.

const ARM_IMPLEMENTERS: Record<number, string> = {
  0x41: 'ARM', 0x42: 'Broadcom', 0x43: 'Cavium', 0x46: 'Fujitsu', 0x48: 'HiSilicon', 0x4e: 'NVIDIA', 0x50: 'APM',
  0x51: 'Qualcomm', 0x53: 'Samsung', 0x56: 'Marvell', 0x61: 'Apple', 0x69: 'Intel', 0x6d: 'Microsoft', 0x70: 'Phytium', 0xc0: 'Ampere',
};

const ARM_PARTS: Record<number, Record<number, string>> = {
  0x41: {
    0xb02: 'ARM11-MPCore', 0xb76: 'ARM1176',
    0xc05: 'Cortex-A5', 0xc07: 'Cortex-A7', 0xc08: 'Cortex-A8', 0xc09: 'Cortex-A9', 0xc0d: 'Cortex-A17', 0xc0e: 'Cortex-A17', 0xc0f: 'Cortex-A15',
    0xd01: 'Cortex-A32', 0xd02: 'Cortex-A34', 0xd03: 'Cortex-A53', 0xd04: 'Cortex-A35', 0xd05: 'Cortex-A55', 0xd06: 'Cortex-A65',
    0xd07: 'Cortex-A57', 0xd08: 'Cortex-A72', 0xd09: 'Cortex-A73', 0xd0a: 'Cortex-A75', 0xd0b: 'Cortex-A76', 0xd0c: 'Neoverse-N1',
    0xd0d: 'Cortex-A77', 0xd0e: 'Cortex-A76AE', 0xd40: 'Neoverse-V1', 0xd41: 'Cortex-A78', 0xd42: 'Cortex-A78AE', 0xd43: 'Cortex-A65AE',
    0xd44: 'Cortex-X1', 0xd46: 'Cortex-A510', 0xd47: 'Cortex-A710', 0xd48: 'Cortex-X2', 0xd49: 'Neoverse-N2', 0xd4a: 'Neoverse-E1',
    0xd4b: 'Cortex-A78C', 0xd4c: 'Cortex-X1C', 0xd4d: 'Cortex-A715', 0xd4e: 'Cortex-X3', 0xd4f: 'Neoverse-V2', 0xd80: 'Cortex-A520',
    0xd81: 'Cortex-A720', 0xd82: 'Cortex-X4', 0xd83: 'Neoverse-V3AE', 0xd84: 'Neoverse-V3', 0xd85: 'Cortex-X925', 0xd87: 'Cortex-A725',
    0xd88: 'Cortex-A520AE', 0xd89: 'Cortex-A720AE', 0xd8a: 'C1-Nano', 0xd8b: 'C1-Pro', 0xd8c: 'C1-Ultra', 0xd8e: 'Neoverse-N3',
    0xd8f: 'Cortex-A320', 0xd90: 'C1-Premium',
  },
  0x42: { 0x0f: 'Brahma-B15', 0x100: 'Brahma-B53', 0x516: 'ThunderX2' },
  0x43: { 0x0a1: 'ThunderX-88XX', 0x0af: 'ThunderX2-99xx', 0x0b8: 'ThunderX3-T110' },
  0x46: { 0x001: 'A64FX' },
  0x48: { 0xd01: 'Kunpeng-920', 0xd40: 'Cortex-A76', 0xd41: 'Cortex-A77' },
  0x4e: { 0x000: 'Denver', 0x003: 'Denver-2', 0x004: 'Carmel', 0x010: 'Olympus' },
  0x50: { 0x000: 'X-Gene' },
  0x51: {
    0x001: 'Oryon', 0x04d: 'Krait', 0x06f: 'Krait', 0x201: 'Kryo', 0x205: 'Kryo', 0x211: 'Kryo', 0x800: 'Falkor-V1/Kryo', 0x801: 'Kryo-V2',
    0x802: 'Kryo-3XX-Gold', 0x803: 'Kryo-3XX-Silver', 0x804: 'Kryo-4XX-Gold', 0x805: 'Kryo-4XX-Silver', 0xc00: 'Falkor', 0xc01: 'Saphira',
  },
  0x53: { 0x001: 'exynos-m1', 0x002: 'exynos-m3', 0x003: 'exynos-m4', 0x004: 'exynos-m5' },
  0x56: { 0x131: 'Feroceon-88FR131', 0x581: 'PJ4/PJ4b', 0x584: 'PJ4B-MP' },
  0x61: {
    0x022: 'Icestorm-M1', 0x023: 'Firestorm-M1', 0x024: 'Icestorm-M1-Pro', 0x025: 'Firestorm-M1-Pro', 0x028: 'Icestorm-M1-Max',
    0x029: 'Firestorm-M1-Max', 0x032: 'Blizzard-M2', 0x033: 'Avalanche-M2', 0x034: 'Blizzard-M2-Pro', 0x035: 'Avalanche-M2-Pro',
    0x038: 'Blizzard-M2-Max', 0x039: 'Avalanche-M2-Max',
  },
  0x6d: { 0xd49: 'Azure-Cobalt-100' },
  0xc0: { 0xac3: 'Ampere-1', 0xac4: 'Ampere-1a' },
};

/** Efficiency ("LITTLE") cores: listed after the others in coreTypes and cpuModel. */
const LITTLE = /^(Cortex-A(5|7|32|34|35|53|55|65|65AE|320|510|520|520AE)|C1-Nano|Kryo-\dXX-Silver|Icestorm|Blizzard|Sawtooth|Brahma-B53)(\b|-|$)/;
/** Prime cores: listed first. */
const PRIME = /^(Cortex-X|C1-Ultra|C1-Premium)/;

function coreTier(model: string): number {
  if (PRIME.test(model)) return 2;
  if (LITTLE.test(model)) return 0;
  return 1;
}

function parseHex(s: string | undefined): number | null {
  if (s === undefined) return null;
  const t = s.trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) return null;
  return Number(t);
}

/** The name of an ARM core from its implementer and part numbers ("0x41", "0xd09" → "Cortex-A73"); null if unknown. */
export function armCoreName(implementer: string | number, part: string | number): string | null {
  const impl = typeof implementer === 'number' ? implementer : parseHex(implementer);
  const p = typeof part === 'number' ? part : parseHex(part);
  if (impl === null || p === null) return null;
  return ARM_PARTS[impl]?.[p] ?? null;
}

// ---------------------------------------------------------------------------------------------
// /proc/cpuinfo

interface CpuinfoParsed {
  cpus: Array<{ cpu: number; model: string }>;
  /** keys outside any processor block (arm64: Hardware, Revision, Serial, Model) */
  global: Record<string, string>;
}

function clean(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function modelOf(kv: Record<string, string>, global: Record<string, string>): string {
  const get = (k: string): string | undefined => kv[k] ?? global[k];
  const impl = get('CPU implementer');
  const part = get('CPU part');
  if (impl !== undefined && part !== undefined) {
    const name = armCoreName(impl, part);
    if (name) return name;
  }
  // x86 "model name"; MIPS "cpu model"; PowerPC "cpu"; RISC-V "uarch"; old ARM "Processor"
  for (const k of ['model name', 'cpu model', 'cpu', 'uarch', 'Processor']) {
    const v = get(k);
    if (v && clean(v)) return clean(v);
  }
  if (impl !== undefined && part !== undefined) {
    const implNum = parseHex(impl);
    const implName = implNum !== null ? ARM_IMPLEMENTERS[implNum] : undefined;
    return `${implName ?? `implementer ${impl.trim()}`} part ${part.trim()}`;
  }
  return 'unknown';
}

function parseCpuinfoFull(text: string): CpuinfoParsed {
  const records: Array<{ cpu: number; kv: Record<string, string> }> = [];
  const global: Record<string, string> = {};
  for (const block of text.split(/\r?\n[ \t]*\r?\n/)) {
    let current: { cpu: number; kv: Record<string, string> } | null = null;
    for (const line of block.split(/\r?\n/)) {
      const i = line.indexOf(':');
      if (i < 0) continue;
      const key = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (key === 'processor' && /^\d+$/.test(value)) {
        current = { cpu: Number(value), kv: {} };
        records.push(current);
      } else if (current) {
        current.kv[key] = value;
      } else {
        global[key] = value;
      }
    }
  }
  const cpus = records.map((r) => ({ cpu: r.cpu, model: modelOf(r.kv, global) })).sort((a, b) => a.cpu - b.cpu);
  return { cpus, global };
}

/**
 * The model of each logical cpu in a /proc/cpuinfo text, by cpu number. ARM cores are named
 * from "CPU implementer" + "CPU part" ("Cortex-A73"), which wins over a 32-bit kernel's generic
 * "model name : ARMv7 Processor rev 3 (v7l)"; otherwise "model name" (x86) or the like.
 */
export function parseCpuinfo(text: string): Array<{ cpu: number; model: string }> {
  return parseCpuinfoFull(text).cpus;
}

function mhzOf(map: ReadonlyMap<number, number | null> | Readonly<Record<number, number | null | undefined>> | null | undefined, cpu: number): number | null {
  if (!map) return null;
  const v = map instanceof Map ? map.get(cpu) : (map as Record<number, number | null | undefined>)[cpu];
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : null;
}

/**
 * Group cpus by (model, maxMHz), so cores of one name but different maximum clocks (Intel
 * hybrid P/E cores, prime vs big cores) are separate types. maxMHzByCpu is indexed by cpu
 * number (a Map, a record or an array); missing → null. Order: prime (Cortex-X…) before big
 * before LITTLE (Cortex-A53/A55/A510…, Apple Icestorm…), then higher maxMHz first (null last),
 * then lower first cpu.
 */
export function coreTypes(
  perCpu: ReadonlyArray<{ cpu: number; model: string }>,
  maxMHzByCpu?: ReadonlyMap<number, number | null> | Readonly<Record<number, number | null | undefined>> | null,
): CoreType[] {
  const groups = new Map<string, CoreType>();
  for (const { cpu, model } of [...perCpu].sort((a, b) => a.cpu - b.cpu)) {
    const maxMHz = mhzOf(maxMHzByCpu, cpu);
    const key = `${model}\u0000${maxMHz ?? ''}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { model, count: 0, maxMHz, cpus: [] }));
    g.count++;
    g.cpus.push(cpu);
  }
  return [...groups.values()].sort(
    (a, b) =>
      coreTier(b.model) - coreTier(a.model) ||
      (b.maxMHz ?? -1) - (a.maxMHz ?? -1) ||
      a.cpus[0]! - b.cpus[0]!,
  );
}

/**
 * "4× Cortex-A73 + 2× Cortex-A53" in the order of the types given; a model that appears in
 * more than one type gets its clock: "6× Intel Core i7-12700H @ 4700 MHz + 8× … @ 3500 MHz".
 */
export function describeCores(types: ReadonlyArray<CoreType>): string {
  if (types.length === 0) return 'unknown';
  const seen = new Map<string, number>();
  for (const t of types) seen.set(t.model, (seen.get(t.model) ?? 0) + 1);
  return types
    .map((t) => `${t.count}× ${t.model}${seen.get(t.model)! > 1 && t.maxMHz !== null ? ` @ ${t.maxMHz} MHz` : ''}`)
    .join(' + ');
}

// ---------------------------------------------------------------------------------------------
// Small file readers (never throw)

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function readLine(path: string): string | null {
  const t = readText(path);
  if (t === null) return null;
  const s = t.replace(/\0/g, '').trim();
  return s === '' ? null : s;
}

function readInt(path: string): number | null {
  const s = readLine(path);
  if (s === null || !/^-?\d+$/.test(s)) return null;
  return Number(s);
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

const kHzToMHz = (v: number | null): number | null => (v === null || v <= 0 ? null : Math.round(v / 1000));

function cpuDir(root: string, cpu: number): string {
  return join(root, 'sys/devices/system/cpu', `cpu${cpu}`);
}

/** Online cpus with a cpuN directory in /sys (cpuN/online = 0 → offline). */
function sysCpus(root: string): number[] {
  return listDir(join(root, 'sys/devices/system/cpu'))
    .filter((n) => /^cpu\d+$/.test(n))
    .map((n) => Number(n.slice(3)))
    .filter((c) => readInt(join(cpuDir(root, c), 'online')) !== 0)
    .sort((a, b) => a - b);
}

/** "schedutil" when all agree, else "performance ×4, powersave ×2" (most common first); null if none. */
export function summarizeGovernors(governors: ReadonlyArray<string | null>): string | null {
  const counts = new Map<string, number>();
  for (const g of governors) if (g) counts.set(g, (counts.get(g) ?? 0) + 1);
  if (counts.size === 0) return null;
  if (counts.size === 1) return [...counts.keys()][0]!;
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1]) // stable: ties keep first-seen order
    .map(([g, n]) => `${g} ×${n}`)
    .join(', ');
}

function governorNames(summary: string | null): string[] {
  if (!summary) return [];
  return summary.split(', ').map((s) => s.replace(/ ×\d+$/, ''));
}

function readGovernor(root: string, cpus: number[]): string | null {
  return summarizeGovernors(cpus.map((c) => readLine(join(cpuDir(root, c), 'cpufreq/scaling_governor'))));
}

function readFreqs(root: string, cpus: number[]): CpuFreqs | null {
  const out: CpuFreqs = { cpus: [], cur: [], max: [], min: [], scalingMax: [] };
  for (const c of cpus) {
    const d = join(cpuDir(root, c), 'cpufreq');
    const f = (name: string): number | null => kHzToMHz(readInt(join(d, name)));
    const cur = f('scaling_cur_freq') ?? f('cpuinfo_cur_freq');
    const scalingMax = f('scaling_max_freq');
    const max = f('cpuinfo_max_freq') ?? scalingMax;
    const min = f('cpuinfo_min_freq') ?? f('scaling_min_freq');
    if (cur === null && max === null && min === null && scalingMax === null) continue;
    out.cpus.push(c);
    out.cur.push(cur);
    out.max.push(max);
    out.min.push(min);
    out.scalingMax.push(scalingMax);
  }
  return out.cpus.length ? out : null;
}

// ---------------------------------------------------------------------------------------------
// Thermal zones, cooling devices, throttle counters

const TRIP_TYPES = new Set(['passive', 'hot', 'critical']);

function readZones(root: string): ThermalZone[] {
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

function readCooling(root: string): CoolingDevice[] {
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
function readThermalThrottle(root: string, cpus: number[]): number | null {
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

function readFreqTransitions(root: string): number | null {
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

const THROTTLE_BITS = ['under-voltage', 'arm frequency capped', 'throttled', 'soft temperature limit'];

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

function readVcgencmdBits(root: string, opts: ReadOptions | undefined): number | null {
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

function coolingFlags(cooling: CoolingDevice[]): string[] {
  return cooling.filter((c) => c.cur > 0).map((c) => `${c.type} at cooling state ${c.cur} of ${c.max}`);
}

function throttleFrom(count: number | null, bits: number | null, transitions: number | null, cooling: CoolingDevice[]): ThrottleInfo | null {
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

// ---------------------------------------------------------------------------------------------
// throttleSeen

/** A sample as throttleSeen reads it: a ThermalSample, or the few fields of one that were kept. */
export type ThermalReading = Pick<ThermalSample, 'maxCelsius' | 'freqMHz' | 'throttleCount'> & Partial<ThermalSample>;

/** Hardware maximum clocks: one for all cpus, an array or record indexed by cpu number, or HostInfo.freqMHz. */
export type MaxMHz = number | ReadonlyArray<number | null> | Readonly<Record<number, number | null>> | Pick<CpuFreqs, 'cpus' | 'max'> | null | undefined;

function maxFor(maxMHz: MaxMHz, cpu: number): number | null {
  if (maxMHz === null || maxMHz === undefined) return null;
  if (typeof maxMHz === 'number') return maxMHz > 0 ? maxMHz : null;
  if (!Array.isArray(maxMHz) && 'cpus' in maxMHz && 'max' in maxMHz && Array.isArray((maxMHz as CpuFreqs).cpus)) {
    const f = maxMHz as Pick<CpuFreqs, 'cpus' | 'max'>;
    const i = f.cpus.indexOf(cpu);
    return i >= 0 ? (f.max[i] ?? null) : null;
  }
  const v = (maxMHz as Record<number, number | null | undefined>)[cpu];
  return typeof v === 'number' && v > 0 ? v : null;
}

function cpuList(cpus: number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < cpus.length) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
    parts.push(j > i ? `${cpus[i]}-${cpus[j]}` : `${cpus[i]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** Fraction of the hardware maximum below which a clock counts as capped. */
export const CAPPED_FRACTION = 0.85;
/** Governors that run a busy core at (or near) its maximum clock. */
const FAST_GOVERNORS = new Set(['performance', 'ondemand', 'schedutil']);

/**
 * What throttling was seen between two readThermal() samples, in words ("; "-separated), or
 * null when none. maxMHz: the hardware maximum clocks (HostInfo.freqMHz, or indexed by cpu
 * number, or one number for all). Rules:
 *  1. x86 thermal_throttle count grew.
 *  2. Raspberry Pi get_throttled: a "now" bit (0-3) set in `after`, or a "has occurred" bit
 *     (16-19) set in `after` but not in `before` (these are sticky since boot, so one already set
 *     before can't tell a new event).
 *  3. A thermal zone in `after` at or above its lowest passive/hot/critical trip point.
 *  4. A CPU cooling device in `after` in a state > 0.
 *  5. A cpu's scaling_max_freq in `after` below 85% of its hardware maximum (a user limit or,
 *     on mainline kernels, a thermal cap — either way the kernel ran capped).
 *  6. Clock capped under a governor that runs busy cores fast (every cpu on performance,
 *     ondemand or schedutil): the fastest current clock of any cpu in `after` is below 85% of
 *     the lowest hardware maximum. Idle cores clock down normally, so one slow cpu says nothing;
 *     but `after` is read right after the kernel, while at least the sampling core is still busy
 *     and clocked up, so no cpu near even the LITTLE cores' maximum means a cap. (Under
 *     ondemand/schedutil a sample taken after an idle pause can trip this; take it promptly.)
 *  7. cpufreq stats total_trans grew under governor performance on every cpu (that governor
 *     never changes the clock by itself, so a change was a cap coming or going).
 */
export function throttleSeen(before: ThermalReading | null | undefined, after: ThermalReading, maxMHz?: MaxMHz): string | null {
  const seen: string[] = [];
  // 1
  if (before?.throttleCount != null && after.throttleCount != null && after.throttleCount > before.throttleCount) {
    seen.push(`thermal_throttle count grew by ${after.throttleCount - before.throttleCount}`);
  }
  // 2
  if (after.throttleBits != null) {
    const a = after.throttleBits;
    const now = THROTTLE_BITS.filter((_, i) => a & (1 << i));
    const prev = before?.throttleBits ?? 0;
    const fresh = THROTTLE_BITS.filter((_, i) => a & (1 << (16 + i)) && !(prev & (1 << (16 + i))));
    if (now.length) seen.push(`vcgencmd get_throttled: ${now.join(', ')} now`);
    if (fresh.length) seen.push(`vcgencmd get_throttled: ${fresh.join(', ')} occurred since the previous sample`);
  }
  // 3
  for (const z of after.zones ?? []) {
    if (z.tripCelsius !== null && z.celsius >= z.tripCelsius) {
      seen.push(`${z.zone} (${z.type}) at ${z.celsius} °C, at or above its ${z.tripType} trip point ${z.tripCelsius} °C`);
    }
  }
  // 4
  seen.push(...coolingFlags(after.cooling ?? []));
  const cpus = after.freqCpus && after.freqCpus.length ? after.freqCpus : (after.freqMHz ?? []).map((_, i) => i);
  // 5
  if (after.scalingMaxMHz) {
    const byCap = new Map<string, number[]>();
    after.scalingMaxMHz.forEach((cap, i) => {
      const cpu = cpus[i];
      if (cpu === undefined || cap === null) return;
      const hw = maxFor(maxMHz, cpu);
      if (hw !== null && cap < CAPPED_FRACTION * hw) {
        const k = `scaling_max_freq ${cap} MHz < ${hw} MHz maximum`;
        byCap.set(k, [...(byCap.get(k) ?? []), cpu]);
      }
    });
    for (const [k, list] of byCap) seen.push(`clock capped: ${k} on cpu ${cpuList(list)}`);
  }
  // 6
  const govs = governorNames(after.governor ?? null);
  if (after.freqMHz && after.freqMHz.length && govs.length && govs.every((g) => FAST_GOVERNORS.has(g))) {
    const fastest = Math.max(...after.freqMHz);
    const maxes = cpus.map((c) => maxFor(maxMHz, c)).filter((v): v is number => v !== null);
    if (maxes.length) {
      const lowestMax = Math.min(...maxes);
      if (fastest < CAPPED_FRACTION * lowestMax) {
        seen.push(`clock capped: no cpu above ${fastest} MHz, below ${Math.round(CAPPED_FRACTION * 100)}% of the lowest maximum ${lowestMax} MHz (governor ${after.governor})`);
      }
    }
  }
  // 7
  if (
    before?.freqTransitions != null && after.freqTransitions != null && after.freqTransitions > before.freqTransitions &&
    govs.length && govs.every((g) => g === 'performance')
  ) {
    seen.push(`${after.freqTransitions - before.freqTransitions} clock changes under governor performance (a cap came or went)`);
  }
  return seen.length ? seen.join('; ') : null;
}

// ---------------------------------------------------------------------------------------------
// Network links

type Ifaces = NodeJS.Dict<os.NetworkInterfaceInfo[]>;

/**
 * Network interfaces other than loopback: /sys/class/net under sysRoot, addresses from
 * `interfaces` (default os.networkInterfaces()). Without /sys/class/net (non-Linux): the
 * non-internal interfaces of node:os, with speed, duplex etc. unknown.
 */
export function readLinks(sysRoot = '/', interfaces: Ifaces = os.networkInterfaces()): LinkInfo[] {
  const base = join(sysRoot, 'sys/class/net');
  const names = listDir(base);
  const addrs = (n: string): string[] => (interfaces[n] ?? []).map((a) => a.address);
  if (names.length === 0) {
    return Object.entries(interfaces)
      .filter(([, list]) => (list ?? []).some((a) => !a.internal))
      .map(([iface, list]) => ({
        iface, speedMbps: null, duplex: null, operstate: 'unknown', addresses: (list ?? []).map((a) => a.address),
        mac: (list ?? []).find((a) => a.mac && a.mac !== '00:00:00:00:00:00')?.mac ?? null, mtu: null, virtual: null, wireless: null,
      }))
      .sort((a, b) => a.iface.localeCompare(b.iface));
  }
  const links: LinkInfo[] = [];
  for (const iface of names.sort()) {
    const d = join(base, iface);
    const type = readInt(join(d, 'type'));
    if (type === 772 || (type === null && iface === 'lo')) continue; // ARPHRD_LOOPBACK
    let speed = readInt(join(d, 'speed'));
    if (speed !== null && (speed < 0 || speed === 65535 || speed === 4294967295)) speed = null; // SPEED_UNKNOWN
    let target = '';
    try {
      target = readlinkSync(d);
    } catch {
      /* not a symlink (fake tree) */
    }
    links.push({
      iface,
      speedMbps: speed,
      duplex: readLine(join(d, 'duplex')),
      operstate: readLine(join(d, 'operstate')) ?? 'unknown',
      addresses: addrs(iface),
      mac: readLine(join(d, 'address')),
      mtu: readInt(join(d, 'mtu')),
      virtual: target.includes('/virtual/') || existsSync(join(sysRoot, 'sys/devices/virtual/net', iface)),
      wireless: existsSync(join(d, 'wireless')) || existsSync(join(d, 'phy80211')),
    });
  }
  return links;
}

function normalizeAddress(a: string): string {
  let s = a.trim().toLowerCase();
  if (s.startsWith('[') && s.includes(']')) s = s.slice(1, s.indexOf(']'));
  s = s.replace(/%.*$/, '').replace(/\/\d+$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  return mapped ? mapped[1]! : s;
}

/**
 * The interface that carries `address` (an IP of this host; "::ffff:10.0.0.2", "[fe80::1%eth0]"
 * and "10.0.0.2/24" are understood) and its speed; null if no link has it.
 */
export function linkRateFor(links: ReadonlyArray<LinkInfo>, address: string): { iface: string; speedMbps: number | null } | null {
  const want = normalizeAddress(address);
  const l = links.find((x) => x.addresses.some((a) => normalizeAddress(a) === want));
  return l ? { iface: l.iface, speedMbps: l.speedMbps } : null;
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
