// `--display-map`: the rank -> host map, one compact block printed before the job starts
// (Open MPI's JOB MAP, shorter), and `--output-filename DIR`: every rank's output also goes
// into DIR/1/rank.N/stdout and DIR/1/rank.N/stderr (Open MPI 4's layout).
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { OrchidError } from '../errors.js';
import type { Job, OutputLine } from './job.js';
import type { JobPlan } from './job-plan.js';
import { rangeList } from './rank-list.js';

/** "0-3,6,8-9", at most `max` items then "… (N in all)". */
export function rankRanges(ranks: readonly number[], max = 16): string {
  const parts = rangeList(ranks);
  return parts.length > max ? `${parts.slice(0, max).join(',')},… (${ranks.length} ranks in all)` : parts.join(',');
}

/** The map as lines. */
export function jobMapLines(plan: Pick<JobPlan, 'placement' | 'apps' | 'mapBy' | 'bindTo'>): string[] {
  const p = plan.placement;
  const lines = [`======================== JOB MAP ========================`];
  lines.push(`${p.np} rank${p.np === 1 ? '' : 's'} on ${p.hosts.length} host${p.hosts.length === 1 ? '' : 's'}, mapped by ${plan.mapBy}, bound to ${plan.bindTo}`);
  const width = Math.max(...p.hosts.map((h) => h.name.length));
  for (const h of p.hosts) lines.push(`  ${h.name.padEnd(width)}  ${String(h.ranks.length).padStart(3)} ${h.ranks.length === 1 ? 'rank: ' : 'ranks:'} ${rankRanges(h.ranks)}`);
  if (plan.apps.length > 1) {
    plan.apps.forEach((a, k) => {
      const ranks = Array.from({ length: a.np }, (_, i) => a.first + i);
      lines.push(`  section ${k + 1}: ${basename(a.script)}${a.args.length ? ' ' + a.args.join(' ') : ''}: rank${a.np === 1 ? '' : 's'} ${rankRanges(ranks)}`);
    });
  }
  lines.push('=========================================================');
  return lines;
}

/** Create DIR/1 for --output-filename (before the job starts: a bad DIR is an argument error). */
export function outputDir(dirOption: string): string {
  if (typeof dirOption !== 'string' || dirOption === '') throw new OrchidError('ERR_ARG', '--output-filename needs a directory');
  const dir = join(resolve(dirOption), '1');
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new OrchidError('ERR_ARG', `--output-filename ${dirOption}: cannot create ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return dir;
}

/** Job output with each rank's lines also appended to DIR/1/rank.N/{stdout,stderr} (dir from outputDir); the files close when the output ends. */
export function withOutputFiles(job: Job, dir: string): Job {
  for (let r = 0; r < job.np; r++) mkdirSync(join(dir, `rank.${r}`), { recursive: true });
  const fds = new Map<string, number>();
  const fileOf = (line: OutputLine): number => {
    const key = `${line.rank}/${line.stream}`;
    let fd = fds.get(key);
    if (fd === undefined) {
      fd = openSync(join(dir, `rank.${line.rank}`, line.stream), 'a');
      fds.set(key, fd);
    }
    return fd;
  };
  // every rank gets both files, even a silent one; each opened when first written to
  for (let r = 0; r < job.np; r++) for (const stream of ['stdout', 'stderr']) writeFileSync(join(dir, `rank.${r}`, stream), '');
  const source = job.output;
  async function* tee(): AsyncGenerator<OutputLine> {
    try {
      for await (const line of source) {
        if (line.rank >= 0) writeSync(fileOf(line), line.text + '\n');
        yield line;
      }
    } finally {
      for (const fd of fds.values()) closeSync(fd);
      fds.clear();
    }
  }
  const output = tee();
  // the same job with the teed output (whatever else a Job offers passes through)
  return new Proxy(job, {
    get(target, key) {
      if (key === 'output') return output;
      const v: unknown = Reflect.get(target, key, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
