// The pieces every report section is built from: tables, sections, number formats.
import type { ChartSpec } from './svg.js';

export interface Table {
  head: string[];
  rows: string[][];
}
export interface Section {
  title: string;
  text?: string;
  tables: Table[];
  charts: string[];
}
/** Draws a chart; in a comparison it gives each label its own line pattern. */
export type DrawChart = (c: ChartSpec) => string;

export const f = (x: number | undefined, d = 2): string => {
  if (x === undefined || !Number.isFinite(x)) return '–';
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return x.toExponential(2);
  return x.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : d);
};
export const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(0)}%`);
export const uniq = <T,>(xs: T[]): T[] => [...new Set(xs)];

export function seriesName(multi: boolean, label: string, rest: string): string {
  return multi ? `${label} · ${rest}` : rest;
}

/** A rate with an SI prefix in front of its unit: 1.2e9 intervals/s -> "1.20 G intervals/s". */
export function rateText(rate: number | undefined, unit: string | undefined): string {
  if (rate === undefined || !Number.isFinite(rate) || !unit) return '–';
  if (/^(G|M) /.test(unit) || unit.startsWith('GFLOP')) return `${f(rate)} ${unit}`;
  const [k, p] = rate >= 1e9 ? [1e9, 'G'] : rate >= 1e6 ? [1e6, 'M'] : rate >= 1e3 ? [1e3, 'k'] : [1, ''];
  return `${f(rate / (k as number))} ${p}${unit}`;
}
