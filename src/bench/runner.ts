// The driver of `orchid bench`: one job per transport and rank count (micro-benchmarks and
// kernels), hybrid jobs, the C reference, single-process benchmarks; results written after
// every step so an interrupted run keeps what finished.
import { mkdirSync, writeFileSync, renameSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { launch, readHostfile, parseHostList } from '../launcher/index.js';
import { baseEnvironment } from './env.js';
import { mpiVersionText, runCMpi, setupCMpi, type CMpi, type CLine } from './cmpi.js';
import { HYBRID_KERNELS } from './kernels.js';
import { FULL, QUICK, kernelSpecs, rankCounts, type Profile } from './plan.js';
import { LINE_PREFIX, type JobSpec, type RankLine } from './protocol.js';
import { writeReports } from './report.js';
import { SCHEMA, type Measurement, type Results } from './schema.js';
import { runSingle } from './single.js';
import { summarize } from './stats.js';
import { Progress } from './progress.js';

export interface BenchOptions {
  quick: boolean;
  np?: number;
  hosts?: string;
  hostfile?: string;
  transport: 'ws' | 'mpi' | 'all';
  out: string;
  label?: string;
  /** skip parts (tests, debugging): 'micro', 'kernels', 'hybrid', 'c', 'single' */
  skip?: string[];
  command?: string;
  log?: (line: string) => void;
}

const RANK_SCRIPT = fileURLToPath(new URL('./rank.js', import.meta.url));
const PROBE_SCRIPT = fileURLToPath(new URL('./probe.js', import.meta.url));

function slots(o: BenchOptions): number | undefined {
  const specs = o.hostfile ? readHostfile(o.hostfile) : o.hosts ? parseHostList(o.hosts) : undefined;
  return specs?.reduce((a, h) => a + h.slots, 0);
}

/** What the driver needs of a running job: its output lines, its end, a way to stop it. */
interface BenchJob {
  output: AsyncIterable<{ rank: number; text: string }>;
  done: Promise<{ code: number; message?: string }>;
  kill(signal?: NodeJS.Signals): void;
}

const ORCHIDRUN = fileURLToPath(new URL('../cli/orchidrun.js', import.meta.url));

/**
 * ws jobs run in this process through launch(). Other transports run under a child
 * `orchidrun`: the mpi launcher loads the native addon (and with it libmpi) into the
 * launching process, and the driver must survive whatever that library does.
 */
function startJob(o: BenchOptions, np: number, transport: string, script: string, args: string[], timeout: number): BenchJob {
  if (transport === 'ws') {
    const job = launch({ np, script, args, hosts: o.hosts, hostfile: o.hostfile, transport: 'ws', timeout });
    return { output: job.output, done: job.done, kill: (sig) => job.kill(sig) };
  }
  const hostArgs = o.hostfile ? ['--hostfile', o.hostfile] : o.hosts ? ['--hosts', o.hosts] : [];
  const child = spawn(process.execPath, [ORCHIDRUN, '-n', String(np), '--transport', transport, '--timeout', String(timeout), ...hostArgs, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<{ rank: number; text: string }> = [];
  let wake: (() => void) | undefined;
  let open = 2;
  const feed = (stream: NodeJS.ReadableStream): void => {
    createInterface({ input: stream, crlfDelay: Infinity })
      .on('line', (text) => {
        lines.push({ rank: -1, text });
        wake?.();
      })
      .on('close', () => {
        open--;
        wake?.();
      });
  };
  feed(child.stdout!);
  feed(child.stderr!);
  const done = new Promise<{ code: number; message?: string }>((resolve) => {
    child.on('close', (code, sig) => resolve({ code: code ?? 128, message: sig ? `orchidrun --transport ${transport} was killed by ${sig}` : code ? `orchidrun --transport ${transport} exited with code ${code}` : undefined }));
    child.on('error', (e) => resolve({ code: 127, message: String(e) }));
  });
  const output = (async function* () {
    for (;;) {
      while (lines.length) yield lines.shift()!;
      if (open === 0) return;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  })();
  return { output, done, kill: (sig = 'SIGTERM') => child.kill(sig) };
}

/** Run a job, collecting rank 0's bench lines; other output is kept for error messages. */
async function runJob(o: BenchOptions, np: number, transport: string, spec: JobSpec, timeout: number, onJob: (j: BenchJob) => void): Promise<{ lines: RankLine[]; code: number; message?: string; tail: string[] }> {
  const job = startJob(o, np, transport, RANK_SCRIPT, [JSON.stringify(spec)], timeout);
  onJob(job);
  const lines: RankLine[] = [];
  const tail: string[] = [];
  for await (const l of job.output) {
    const at = l.text.indexOf(LINE_PREFIX);
    if (at >= 0 && at <= 8) {
      // (an MPI launcher may put a rank prefix such as "[0] " before the line)
      try {
        lines.push(JSON.parse(l.text.slice(at + LINE_PREFIX.length)) as RankLine);
      } catch {
        tail.push(l.text);
      }
    } else {
      tail.push(l.rank >= 0 ? `[${l.rank}] ${l.text}` : l.text);
      if (tail.length > 30) tail.shift();
    }
  }
  const r = await job.done;
  return { lines, code: r.code, message: r.message, tail };
}

async function probeTransport(o: BenchOptions, transport: string): Promise<string | null> {
  try {
    const job = startJob(o, 1, transport, PROBE_SCRIPT, [], 60);
    const out: string[] = [];
    for await (const l of job.output) out.push(l.text);
    const r = await job.done;
    return r.code === 0 ? null : `a 1-rank job failed (${r.message ?? `exit ${r.code}`}${out.length ? `: ${out.slice(-3).join(' | ')}` : ''})`;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

export async function runBench(o: BenchOptions): Promise<{ results: Results; interrupted: boolean }> {
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const profile: Profile = o.quick ? QUICK : FULL;
  const skip = new Set(o.skip ?? []);
  const maxRanks = o.np ?? slots(o) ?? Math.max(2, baseEnvironment().cores);
  const counts = rankCounts(maxRanks);
  const multiHost = new Set((o.hostfile ? readHostfile(o.hostfile) : o.hosts ? parseHostList(o.hosts) : []).map((h) => h.name)).size > 1;
  mkdirSync(o.out, { recursive: true });

  const env = baseEnvironment();
  const results: Results = {
    schema: SCHEMA,
    label: o.label ?? `${env.hostnames[0]}${multiHost ? '+cluster' : ''}-x${maxRanks}`,
    partial: true,
    quick: o.quick,
    started: new Date().toISOString(),
    finished: '',
    command: o.command ?? 'orchid bench',
    rankCounts: counts,
    environment: env,
    measurements: [],
    failures: [],
  };

  let stopping = false;
  let current: BenchJob | undefined;
  let currentC: ReturnType<typeof runCMpi> | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) {
      current?.kill('SIGKILL');
      return;
    }
    stopping = true;
    log(`\norchid bench: ${sig}: stopping; keeping what finished`);
    current?.kill('SIGINT');
    if (currentC?.child.pid) {
      try {
        process.kill(-currentC.child.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
  };
  const sigs = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of sigs) process.on(s, onSignal);

  const save = (): void => {
    results.finished = new Date().toISOString();
    if (env.loadAverage) env.loadAverage.end = Number(loadavg()[0]!.toFixed(2));
    derive(results.measurements);
    const file = join(o.out, 'results.json');
    writeFileSync(file + '.tmp', JSON.stringify(results, null, 1) + '\n');
    renameSync(file + '.tmp', file);
  };

  // transports
  const wanted = o.transport === 'all' ? ['ws', 'mpi'] : [o.transport];
  const transports: string[] = [];
  for (const t of wanted) {
    if (t === 'ws') {
      transports.push(t);
      continue;
    }
    const why = await probeTransport(o, t);
    if (why === null) transports.push(t);
    else {
      const note = `transport ${t} skipped: ${why}`;
      env.notes.push(note);
      log(`orchid bench: ${note}`);
      if (o.transport !== 'all') results.failures.push({ what: `transport ${t}`, message: why });
    }
  }
  env.transports = transports;

  // C reference
  let c: CMpi | null = null;
  if (!skip.has('c') && !skip.has('micro')) {
    const setup = setupCMpi(join(tmpdir(), `orchid-bench-c-${process.pid}`));
    c = setup.c;
    if (!c) {
      env.notes.push(setup.note);
      log(`orchid bench: ${setup.note}`);
    } else {
      const first = await mpiVersionText(c.mpiexec);
      env.mpi = { library: first, version: '', mpicc: c.mpicc, mpiexec: c.mpiexec };
    }
  }

  const steps: Array<{ name: string; run: () => Promise<void> }> = [];
  const hostsOf = (lines: RankLine[]): number => {
    const j = lines.find((l) => l.type === 'job') as Extract<RankLine, { type: 'job' }> | undefined;
    if (j) for (const h of j.hosts) if (!env.hostnames.includes(h)) env.hostnames.push(h);
    for (const d of j?.hostDetails ?? []) {
      env.hostDetails ??= [];
      if (!env.hostDetails.some((x) => x.name === d.name)) env.hostDetails.push(d);
    }
    return j?.hosts.length ?? 1;
  };
  const ingest = (lines: RankLine[], transport: string, ranks: number): void => {
    const hosts = hostsOf(lines);
    const threads = (lines.find((l) => l.type === 'job') as { threads?: number } | undefined)?.threads ?? 1;
    for (const l of lines) {
      if (l.type === 'micro') {
        results.measurements.push({ kind: 'micro', benchmark: l.benchmark, impl: 'orchid', transport, ranks, hosts, threads: 1, size: l.size, unit: l.unit, iters: l.iters, ...summarize(l.samples) });
      } else if (l.type === 'kernel') {
        results.measurements.push({ kind: 'kernel', kernel: l.kernel, scaling: l.scaling, impl: 'orchid', transport, ranks, hosts, threads: l.threads ?? threads, size: l.size, unit: 's', verified: l.verified, detail: l.detail, ...summarize(l.samples) });
        if (!l.verified) results.failures.push({ what: `kernel ${l.kernel} (${l.scaling}, ${ranks} ranks, ${transport})`, message: `did not verify: ${l.detail}` });
      } else if (l.type === 'error') {
        results.failures.push({ what: `${transport} ${ranks} ranks`, message: l.message });
      }
    }
  };
  const jobStep = (transport: string, ranks: number, spec: JobSpec, what: string): void => {
    steps.push({
      name: `${what} · ${transport} · ${ranks} rank${ranks > 1 ? 's' : ''}`,
      run: async () => {
        const r = await runJob(o, ranks, transport, spec, profile.jobTimeout, (j) => (current = j));
        current = undefined;
        ingest(r.lines, transport, ranks);
        if (r.code !== 0 && !stopping) {
          results.failures.push({ what: `${what}, ${transport}, ${ranks} ranks`, message: `${r.message ?? `exit ${r.code}`}${r.tail.length ? `\n${r.tail.slice(-10).join('\n')}` : ''}` });
        }
      },
    });
  };

  for (const t of transports) {
    for (const n of counts) {
      const spec: JobSpec = {};
      if (!skip.has('micro') && n >= 2) spec.micro = profile.micro;
      if (!skip.has('kernels')) spec.kernels = kernelSpecs(profile);
      if (spec.micro || spec.kernels) jobStep(t, n, spec, 'micro + kernels');
    }
    if (!skip.has('hybrid')) {
      for (const n of counts) {
        const spec: JobSpec = { hybrid: true, kernels: HYBRID_KERNELS.map((k) => ({ kernel: k, scaling: 'strong', base: profile.strong[k], repeats: profile.kernelRepeats })) };
        jobStep(t, n, spec, 'hybrid');
      }
    }
  }
  if (c) {
    const cc = c;
    for (const n of counts.filter((x) => x >= 2)) {
      steps.push({
        name: `C MPI reference · ${n} ranks`,
        run: async () => {
          const m = profile.micro;
          const args = ['--sizes', m.p2pSizes.join(','), '--coll-sizes', m.collSizes.join(','), '--scale', String(m.scale), '--repeats', String(m.repeats)];
          currentC = runCMpi(cc, n, args, { hosts: o.hosts, hostfile: o.hostfile }, profile.jobTimeout * 1000);
          const r = await currentC.promise;
          currentC = undefined;
          ingestC(r.lines, n);
          if (r.code !== 0 && !stopping) results.failures.push({ what: `C MPI reference, ${n} ranks`, message: `${cc.mpiexec} exited ${r.code}: ${r.stderr.trim().slice(-500)}` });
        },
      });
    }
  }
  const ingestC = (lines: CLine[], n: number): void => {
    for (const l of lines) {
      if (l.type === 'env') {
        if (l.ranks !== n) throw new Error(`mpiexec started ${l.ranks}-rank jobs instead of one ${n}-rank job (mpicc and mpiexec from different MPIs?)`);
        if (env.mpi) {
          env.mpi.library = l.library ? shortLibrary(l.library) : env.mpi.library;
          env.mpi.version = l.mpi_version ?? '';
        }
        continue;
      }
      results.measurements.push({ kind: 'micro', benchmark: l.benchmark, impl: 'c-mpi', transport: 'c-mpi', ranks: l.ranks, hosts: Math.max(1, Math.min(l.ranks, multiHost ? 2 : 1)), threads: 1, size: l.size, unit: l.unit, iters: l.iters, ...summarize(l.samples) });
    }
  };
  if (!skip.has('single')) {
    steps.push({
      name: 'single-process (benchmark.js)',
      run: async () => {
        const ms = await runSingle({ maxTime: profile.singleMaxTime, shouldStop: () => stopping });
        results.measurements.push(...ms);
      },
    });
  }

  const progress = new Progress(steps.length, log);
  let interrupted = false;
  try {
    for (const [i, s] of steps.entries()) {
      if (stopping) break;
      progress.start(i, s.name);
      try {
        await s.run();
      } catch (e) {
        results.failures.push({ what: s.name, message: e instanceof Error ? e.message : String(e) });
      }
      progress.done(i + 1, s.name);
      save();
    }
  } finally {
    interrupted = stopping;
    progress.finish();
    for (const s of sigs) process.off(s, onSignal);
    results.partial = interrupted;
    save();
    writeReports(results, o.out);
  }
  return { results, interrupted };
}

/** "MPICH Version: 4.0.2 … MPICH Device: ch4:ucx …" -> "MPICH 4.0.2 (ch4:ucx)"; "Open MPI v4.1.4, package: …" -> "Open MPI v4.1.4". */
export function shortLibrary(lib: string): string {
  const t = lib.replace(/\s+/g, ' ').trim();
  const mpich = /MPICH Version:\s*(\S+)/.exec(t);
  if (mpich) {
    const dev = /MPICH Device:\s*(\S+)/.exec(t);
    return `MPICH ${mpich[1]}${dev ? ` (${dev[1]})` : ''}`;
  }
  return t.split(/,| package:/)[0]!.slice(0, 120);
}

/** Speedup, efficiency and the ratio to C, from the medians. */
export function derive(ms: Measurement[]): void {
  const base = new Map<string, number>();
  for (const m of ms) {
    if (m.kind === 'kernel' && m.ranks === 1 && m.threads === 1 && m.scaling !== 'hybrid') base.set(`${m.transport}|${m.kernel}|${m.scaling}`, m.median);
  }
  for (const m of ms) {
    if (m.kind === 'kernel') {
      const p = m.ranks * m.threads;
      const t1 = base.get(`${m.transport}|${m.kernel}|${m.scaling === 'weak' ? 'weak' : 'strong'}`);
      if (t1 === undefined || !(m.median > 0)) continue;
      if (m.scaling === 'weak') {
        m.efficiency = t1 / m.median;
        m.speedup = m.efficiency * p;
      } else {
        m.speedup = t1 / m.median;
        m.efficiency = m.speedup / p;
      }
    }
  }
  const cRef = new Map<string, number>();
  for (const m of ms) if (m.kind === 'micro' && m.impl === 'c-mpi') cRef.set(`${m.benchmark}|${m.ranks}|${m.size}`, m.median);
  for (const m of ms) {
    if (m.kind !== 'micro' || m.impl !== 'orchid') continue;
    const c = cRef.get(`${m.benchmark}|${m.ranks}|${m.size}`);
    if (c === undefined || !(c > 0) || !(m.median > 0)) continue;
    m.ratioToC = m.unit === 'MB/s' ? c / m.median : m.median / c;
  }
}
