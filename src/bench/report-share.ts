// The report's "Communication share" section (orchid bench --profile): per kernel, scaling and
// transport the share of each run's time its ranks spent in orchid calls, one column per node
// count (rank count on one host); then per run the calls that took it and the bytes sent.
import type { KernelProfile } from './comm-share.js';
import type { Measurement, Results } from './schema.js';
import { f, uniq, type Section } from './report-format.js';

const share = (x: number): string => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;
const bytes = (b: number): string => (b >= 1e9 ? `${(b / 1e9).toFixed(2)} GB` : b >= 1e6 ? `${(b / 1e6).toFixed(2)} MB` : b >= 1e3 ? `${(b / 1e3).toFixed(1)} kB` : `${b} B`);

/** "41% (max 48%, rank 2)" */
const cell = (p: KernelProfile): string => (p.maxShare - p.share >= 0.005 ? `${share(p.share)} (max ${share(p.maxShare)}, rank ${p.maxRank})` : share(p.share));

export function shareSection(all: Results[]): Section | undefined {
  const multi = all.length > 1;
  const runs = all.flatMap((r) => r.measurements.filter((m): m is Measurement & { profile: KernelProfile } => m.kind === 'kernel' && m.profile !== undefined).map((m) => ({ r, m })));
  if (!runs.length) return undefined;
  const order = (m: Measurement): number => m.nodes * 1e6 + m.ranks * 1e3 + m.threads;
  const layouts = uniq(runs.slice().sort((a, b) => order(a.m) - order(b.m)).map((x) => x.m.layout));
  const byNodes = all.some((r) => r.sweep === 'nodes');
  const rows: string[][] = [];
  for (const r of all) {
    const mine = runs.filter((x) => x.r === r);
    for (const key of uniq(mine.map((x) => `${x.m.kernel}|${x.m.scaling}|${x.m.transport}`))) {
      const [kernel, scaling, transport] = key.split('|') as [string, string, string];
      const at = (layout: string): string => {
        const m = mine.find((x) => x.m.kernel === kernel && x.m.scaling === scaling && x.m.transport === transport && x.m.layout === layout)?.m;
        return m ? cell(m.profile) : '–';
      };
      rows.push([...(multi ? [r.label] : []), kernel, scaling, transport, ...layouts.map(at)]);
    }
  }
  const detail = runs.map(({ r, m }) => [
    ...(multi ? [r.label] : []), m.kernel!, m.scaling!, m.transport, m.layout, f(m.profile.wallMs), share(m.profile.share), `${share(m.profile.minShare)} (rank ${m.profile.minRank})`, `${share(m.profile.maxShare)} (rank ${m.profile.maxRank})`,
    m.profile.calls.map((c) => `${c.call} ${share(c.share)} ×${c.count}`).join(', ') || '–', m.profile.sentMsgs ? `${bytes(m.profile.sentBytes)} in ${m.profile.sentMsgs}` : '–',
  ]);
  return {
    title: 'Communication share',
    text:
      'Recorded with --profile: the share of each kernel run (its timed repeats, each ending with a barrier) that its ranks spent with an orchid call in flight, all ranks together, and the most one rank had. ' +
      `One column per ${byNodes ? 'node count (nodes × ranks per node)' : 'rank count'}. A share that grows with the ${byNodes ? 'nodes' : 'ranks'} is the time the kernel waits for the network or for slower ranks. ` +
      'Calls in flight at once count once; a nonblocking request counts from its post to its completion. The detail table names the calls that took most time (their time over the ranks\' wall time; calls in flight at once each count) and the point-to-point bytes the ranks sent (collectives\' own traffic not included).',
    tables: [
      { head: [...(multi ? ['label'] : []), 'kernel', 'scaling', 'transport', ...layouts], rows },
      { head: [...(multi ? ['label'] : []), 'kernel', 'scaling', 'transport', 'nodes × ppn', 'wall ms per rank', 'share', 'least (rank)', 'most (rank)', 'top calls (share, count)', 'point-to-point sent'], rows: detail },
    ],
    charts: [],
  };
}
