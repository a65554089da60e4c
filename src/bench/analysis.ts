// What the driver works out from the raw samples: speedups and efficiencies (against one
// rank and against one node), rates, ratios to the C reference and to the line rate, the
// link matrix with its slow links named, and the warnings at the top of the report.
import { linkRateFor, versionWarnings } from './hostinfo.js';
import type { HostDetail } from './protocol.js';
import type { LinkResult, Measurement, Results } from './schema.js';
import { median, summarize } from './stats.js';

/** Speedup, efficiency (against 1 rank and against 1 node), rates and the ratio to C, from the medians. */
export function derive(ms: Measurement[]): void {
  const oneRank = new Map<string, Measurement>();
  const oneNode = new Map<string, Measurement>();
  const key = (m: Measurement): string => `${m.transport}|${m.kernel}|${m.scaling === 'weak' ? 'weak' : 'strong'}`;
  for (const m of ms) {
    if (m.kind !== 'kernel' || m.threads !== 1 || m.scaling === 'hybrid') continue;
    if (m.ranks === 1) oneRank.set(key(m), m);
    // one node: the job that fills the first node (the most ranks on one host)
    const prev = oneNode.get(key(m));
    if (m.nodes === 1 && (!prev || m.ranks > prev.ranks)) oneNode.set(key(m), m);
  }
  for (const m of ms) {
    if (m.kind !== 'kernel' || !(m.median > 0)) continue;
    if (m.rate !== undefined) m.ratePerNode = m.rate / m.nodes;
    const gain = (base: Measurement): number =>
      // HPL's work grows faster than its ranks (N ∝ √ranks): compare rates. The others: times,
      // weak ones scaled by the ranks (their work per rank is constant).
      m.kernel === 'hpl' && m.rate !== undefined && base.rate ? m.rate / base.rate : m.scaling === 'weak' ? (base.median / m.median) * (m.ranks * m.threads) / base.ranks : base.median / m.median;
    const r1 = oneRank.get(key(m));
    if (r1) {
      m.speedup = gain(r1);
      m.efficiency = m.speedup / (m.ranks * m.threads);
    }
    const n1 = oneNode.get(key(m));
    if (n1 && m.nodes > 1) {
      m.speedupVsNode = gain(n1);
      m.efficiencyVsNode = m.speedupVsNode / (m.ranks / n1.ranks);
    }
  }
  const cKey = (m: Measurement): string => `${m.benchmark}|${m.ranks}|${m.size}|${m.placement ?? ''}`;
  const cRef = new Map<string, number>();
  for (const m of ms) if (m.kind === 'micro' && m.impl === 'c-mpi') cRef.set(cKey(m), m.median);
  for (const m of ms) {
    if (m.kind !== 'micro' || m.impl !== 'orchid') continue;
    const c = cRef.get(cKey(m));
    if (c === undefined || !(c > 0) || !(m.median > 0)) continue;
    m.ratioToC = m.unit === 'MB/s' ? c / m.median : m.median / c;
  }
}

/** The speed of the link a host's ranks use (Mbit/s), as its OS reports it. */
function hostLinkSpeed(details: HostDetail[], host: string): number | null {
  const d = details.find((x) => x.name === host);
  return d?.address ? (linkRateFor(d.links, d.address)?.speedMbps ?? null) : null;
}

/** The link rate to set links against: --link-rate, else the slowest that every host's OS reports, else 1 Gbit/s. */
export function chooseLinkRate(given: number | undefined, details: HostDetail[], hosts: string[]): { mbps: number; source: string } {
  if (given) return { mbps: given, source: '--link-rate' };
  const rates = hosts.map((h) => hostLinkSpeed(details, h));
  if (rates.length && rates.every((r): r is number => r !== null && r > 0)) return { mbps: Math.min(...rates), source: 'detected (/sys/class/net/IFACE/speed)' };
  return { mbps: 1000, source: 'default (1 Gbit/s; the OS did not report every host\'s link speed: give --link-rate)' };
}

/**
 * The link matrix from the pairs' samples. A link is flagged when it runs below 80 % of the
 * line rate or below 70 % of the typical link (the median of the faster half); a host all
 * of whose links are flagged (with three hosts or more) is named as the likely cause, other
 * flagged links by their two ends.
 */
export function linkMatrix(pairs: Array<{ a: string; b: string; latencyUs: number[]; mbps: number[] }>, lineMbps: number): { links: LinkResult[]; warnings: string[] } {
  const lineMBs = lineMbps / 8; // MB/s (1 MB = 10^6 bytes)
  const links: LinkResult[] = pairs.map((p) => {
    const s = summarize(p.mbps);
    return { a: p.a, b: p.b, ...s, latencyUs: median(p.latencyUs), lineMbps, lineRatio: s.median / lineMBs, flag: null };
  });
  // the typical link: the median of the faster half (a slow host's links must not drag it down)
  const sorted = links.map((l) => l.median).sort((x, y) => y - x);
  const typical = median(sorted.slice(0, Math.max(1, Math.ceil(sorted.length / 2))));
  for (const l of links) {
    const why: string[] = [];
    if (l.lineRatio < 0.8) why.push(`${(l.lineRatio * 100).toFixed(0)} % of the ${lineMbps} Mbit/s line rate`);
    if (links.length > 2 && l.median < 0.7 * typical) why.push(`${(l.median / typical * 100).toFixed(0)} % of the typical link (${typical.toFixed(0)} MB/s)`);
    if (why.length) l.flag = `${l.median.toFixed(1)} MB/s: ${why.join(', ')}`;
  }
  const flagged = links.filter((l) => l.flag);
  const warnings: string[] = [];
  if (!flagged.length) return { links, warnings };
  const hosts = [...new Set(links.flatMap((l) => [l.a, l.b]))];
  // a host all of whose links are flagged (with three hosts or more: otherwise either end may be it)
  const culprits = hosts.length < 3 ? [] : hosts.filter((h) => links.filter((l) => l.a === h || l.b === h).every((l) => l.flag));
  const hint = (h: string): string => `check ${h}'s cable and switch port, and that its link negotiated full duplex at the full speed (ethtool on ${h})`;
  for (const h of culprits) {
    const mine = flagged.filter((l) => l.a === h || l.b === h);
    warnings.push(`slow link: ${h} — ${mine.map((l) => `${l.a}–${l.b} ${l.flag}`).join('; ')}; ${hint(h)}`);
  }
  for (const l of flagged.filter((x) => !culprits.includes(x.a) && !culprits.includes(x.b))) warnings.push(`slow link: ${l.a}–${l.b} ${l.flag}; ${hint(`${l.a} and ${l.b}`)}`);
  return { links, warnings };
}

const what = (m: Measurement): string => `${m.kernel ?? m.benchmark} ${m.scaling ?? ''} ${m.layout} (${m.transport})`.replace(/\s+/g, ' ');

/** The warnings a careful reader wants before the figures; `first`: the link matrix's (linkMatrix). */
export function warningsOf(r: Results, first: string[] = []): string[] {
  // what changes the figures' meaning first (links, throttling, versions), then what makes them noisy
  const out: string[] = [...first];
  const env = r.environment;
  const ks = r.measurements.filter((m) => m.kind === 'kernel');
  const throttled = new Map<string, string[]>();
  for (const m of ks) for (const t of m.thermal ?? []) if (t.throttled) throttled.set(t.host, [...(throttled.get(t.host) ?? []), `${what(m)}: ${t.throttled}`]);
  for (const [h, xs] of throttled) out.push(`throttling on ${h}: ${xs.slice(0, 3).join('; ')}${xs.length > 3 ? ` (and ${xs.length - 3} more)` : ''} — cool the board (heatsink, fan) or the figures measure its thermal limit`);
  out.push(...versionWarnings(env.hostDetails ?? []));
  for (const d of env.hostDetails ?? []) if (d.governor && /powersave/.test(d.governor)) out.push(`${d.name}: CPU frequency governor ${d.governor}: the clock may stay low (set "performance" for benchmarks)`);
  if (env.loadAverage && env.loadAverage.start > env.cores) out.push(`load average ${env.loadAverage.start} at the start is above this host's ${env.cores} cores: other work was running, and every figure is skewed by it`);
  const loaded = (env.hostDetails ?? []).filter((d) => d.name !== env.hostnames[0] && (d.loadAverage?.[0] ?? 0) > d.cores);
  if (loaded.length) out.push(`load average above the cores at the start of the first job on ${loaded.map((d) => `${d.name} (${d.loadAverage[0]} on ${d.cores})`).join(', ')}`);
  const over = ks.filter((m) => (m.efficiency ?? 0) > 1.05 || (m.efficiencyVsNode ?? 0) > 1.05);
  for (const m of over.slice(0, 8)) {
    const e = Math.max(m.efficiency ?? 0, m.efficiencyVsNode ?? 0);
    out.push(`${what(m)}: efficiency ${(e * 100).toFixed(0)} % (over 105 %): superlinear, usually because each rank's share of the data now fits in cache, or because the baseline ran slower (a lower clock, other load, a cold JIT)`);
  }
  if (over.length > 8) out.push(`… and ${over.length - 8} more runs with efficiency over 105 %`);
  const noisy = r.measurements.filter((m) => m.kind !== 'single' && m.repeats > 1 && m.spread > 0.2);
  for (const m of noisy.filter((m) => m.kind === 'kernel').slice(0, 8)) out.push(`${what(m)}: the repeats spread ${(m.spread * 100).toFixed(0)} % (over 20 %): the machine was not quiet, or the clock changed`);
  const noisyKernels = noisy.filter((m) => m.kind === 'kernel').length;
  if (noisyKernels > 8) out.push(`… and ${noisyKernels - 8} more kernel runs whose repeats spread over 20 %`);
  const noisyMicro = noisy.filter((m) => m.kind === 'micro').length;
  if (noisyMicro) out.push(`${noisyMicro} micro-benchmark row(s) spread over 20 % between repeats`);
  return out;
}
