// throttleSeen: whether throttling happened between two readThermal() samples (counters that
// grew, flags set, trip points reached, clocks capped), in words. Reading the samples is
// ./thermal.ts.
import { governorNames, type CpuFreqs } from './cpu.js';
import { coolingFlags, THROTTLE_BITS, type ThermalSample } from './thermal.js';

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
