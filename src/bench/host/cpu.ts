// The cpus of a host: /proc/cpuinfo parsing, ARM core names (the implementer/part table),
// core types (big.LITTLE grouping and its description), cpufreq governors and clocks.
// Conventions as in ../hostinfo.ts (MHz; "cpu" is the kernel's logical cpu number).
import { join } from 'node:path';
import { cpuDir, kHzToMHz, readInt, readLine } from './sysfs.js';

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

export function clean(s: string): string {
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

export function parseCpuinfoFull(text: string): CpuinfoParsed {
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
// Governors and clocks (cpufreq)

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

export function governorNames(summary: string | null): string[] {
  if (!summary) return [];
  return summary.split(', ').map((s) => s.replace(/ ×\d+$/, ''));
}

export function readGovernor(root: string, cpus: number[]): string | null {
  return summarizeGovernors(cpus.map((c) => readLine(join(cpuDir(root, c), 'cpufreq/scaling_governor'))));
}

export function readFreqs(root: string, cpus: number[]): CpuFreqs | null {
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
