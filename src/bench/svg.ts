// Line charts as inline SVG (no scripts, no CDN): log or linear axes, legends, an optional ideal line.
export interface Series {
  name: string;
  points: Array<[number, number]>;
  dashed?: boolean;
  color?: string;
  /** stroke-dasharray of the line (compare: one pattern per label); points are still drawn */
  dash?: string;
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  xLog?: boolean;
  yLog?: boolean;
  /** format x tick labels as byte sizes */
  xBytes?: boolean;
  series: Series[];
  width?: number;
  height?: number;
  /** x values are integers (ranks): no fractional ticks */
  xInt?: boolean;
  /** y axis starts at 0 (linear axes) */
  yZero?: boolean;
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function bytesLabel(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)}M`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024}K`;
  return `${n}`;
}

function num(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(0).replace('e+', 'e');
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return String(Number(v.toPrecision(3)));
  return String(Number(v.toPrecision(2)));
}

function ticks(lo: number, hi: number, log: boolean, bytes: boolean, int = false): number[] {
  if (log) {
    const base = bytes ? 4 : int ? 2 : 10;
    const out: number[] = [];
    let t = Math.pow(base, Math.floor(Math.log(lo) / Math.log(base) + 1e-9));
    while (t <= hi * 1.0001) {
      if (t >= lo * 0.9999) out.push(t);
      t *= base;
    }
    if (out.length < 2) return [lo, hi];
    return out;
  }
  const span = hi - lo || 1;
  const step0 = Math.pow(10, Math.floor(Math.log10(span / 5)));
  let step = [1, 2, 5, 10].map((m) => m * step0).find((s) => span / s <= 6) ?? step0 * 10;
  if (int) step = Math.max(1, Math.round(step));
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

export function lineChart(c: ChartSpec): string {
  const W = c.width ?? 560;
  const legendH = 16 * Math.ceil(c.series.length / 2);
  // the plot keeps its size; a long legend makes the chart taller
  const H = (c.height ?? 340) + Math.max(0, legendH - 32);
  const m = { l: 64, r: 16, t: 34, b: 48 };
  const plotH = H - m.t - m.b - legendH;
  const plotW = W - m.l - m.r;
  const pts = c.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!c.xLog || x > 0) && (!c.yLog || y > 0));
  const head = `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">` +
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>` +
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${esc(c.title)}</text>`;
  if (pts.length === 0) return `${head}<text x="${W / 2}" y="${H / 2}" text-anchor="middle" fill="#888">no data</text></svg>`;
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (c.yZero && !c.yLog) y0 = Math.min(0, y0);
  if (x0 === x1) [x0, x1] = c.xLog ? [x0 / 2, x1 * 2] : [x0 - 1, x1 + 1];
  if (c.xLog && c.xInt) [x0, x1] = [x0 / 1.15, x1 * 1.15];
  if (y0 === y1) [y0, y1] = c.yLog ? [y0 / 2, y1 * 2] : [y0 - 1, y1 + 1];
  if (c.yLog) [y0, y1] = [y0 / 1.3, y1 * 1.3];
  else y1 += (y1 - y0) * 0.08;
  const fx = (x: number): number => m.l + (c.xLog ? (Math.log(x) - Math.log(x0)) / (Math.log(x1) - Math.log(x0)) : (x - x0) / (x1 - x0)) * plotW;
  const fy = (y: number): number => m.t + plotH - (c.yLog ? (Math.log(y) - Math.log(y0)) / (Math.log(y1) - Math.log(y0)) : (y - y0) / (y1 - y0)) * plotH;
  const parts: string[] = [head];
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${plotW}" height="${plotH}" fill="#fafafa" stroke="#999"/>`);
  for (const t of ticks(x0, x1, !!c.xLog, !!c.xBytes, !!c.xInt)) {
    const x = fx(t).toFixed(1);
    parts.push(`<line x1="${x}" y1="${m.t}" x2="${x}" y2="${m.t + plotH}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${x}" y="${m.t + plotH + 14}" text-anchor="middle">${esc(c.xBytes ? bytesLabel(t) : num(t))}</text>`);
  }
  for (const t of ticks(y0, y1, !!c.yLog, false)) {
    const y = fy(t).toFixed(1);
    parts.push(`<line x1="${m.l}" y1="${y}" x2="${m.l + plotW}" y2="${y}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${m.l - 5}" y="${Number(y) + 4}" text-anchor="end">${esc(num(t))}</text>`);
  }
  parts.push(`<text x="${m.l + plotW / 2}" y="${m.t + plotH + 32}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${m.t + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`);
  c.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const ok = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y) && (!c.xLog || x > 0) && (!c.yLog || y > 0)).sort((a, b) => a[0] - b[0]);
    if (ok.length > 1) {
      const d = ok.map(([x, y], k) => `${k ? 'L' : 'M'}${fx(x).toFixed(1)},${fy(y).toFixed(1)}`).join(' ');
      const dash = s.dashed ? '6 4' : s.dash;
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    }
    if (!s.dashed) for (const [x, y] of ok) parts.push(`<circle cx="${fx(x).toFixed(1)}" cy="${fy(y).toFixed(1)}" r="3" fill="${color}"><title>${esc(`${s.name}: ${num(x)}, ${num(y)}`)}</title></circle>`);
    const lx = m.l + (i % 2) * (plotW / 2);
    const ly = m.t + plotH + 44 + Math.floor(i / 2) * 16;
    const ldash = s.dashed ? '6 4' : s.dash;
    parts.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 18}" y2="${ly - 4}" stroke="${color}" stroke-width="2"${ldash ? ` stroke-dasharray="${ldash}"` : ''}/>`);
    parts.push(`<text x="${lx + 22}" y="${ly}">${esc(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
