// Medians and spreads of repeated measurements.
export interface Summary {
  median: number;
  min: number;
  max: number;
  /** median absolute deviation from the median */
  mad: number;
  /** (max - min) / median: the relative spread of the repeats */
  spread: number;
  repeats: number;
  samples: number[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  const med = median(samples);
  const min = Math.min(...samples);
  const max = Math.max(...samples);
  return {
    median: med,
    min,
    max,
    mad: median(samples.map((x) => Math.abs(x - med))),
    spread: med > 0 ? (max - min) / med : 0,
    repeats: samples.length,
    samples: [...samples],
  };
}
