// The driver of `orchid bench`. On one host: a job per transport and rank count 1, 2, 4 …
// On several hosts: the link matrix, then a job per transport and node count 1, 2, 4 …
// (every slot of each node) plus the one-rank baseline. Then hybrid jobs, the C reference,
// the HPC Challenge reference and single-process benchmarks. Results are written after
// every step so an interrupted run keeps what finished.
import { mkdirSync, writeFileSync, renameSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { readHostfile, parseHostList, type HostSpec } from '../launcher/index.js';
import { isLocalHost } from '../launcher/hosts.js';
import { addressTowards } from '../launcher/ssh.js';
import { baseEnvironment } from './env.js';
import { mpiVersionText, runCMpi, setupCMpi, type CMpi, type CLine } from './cmpi.js';
import { findHpcc, runHpcc, type Hpcc } from './hpcc.js';
import { gridShape } from './hpl.js';
import { HYBRID_KERNELS, hplWeakN, KERNEL_RATES } from './kernels.js';
import { FULL, QUICK, hplBaseFromMemory, kernelSpecs, nodeSweep, rankCounts, layoutOf, type JobShape, type Profile } from './plan.js';
import type { HostDetail, JobSpec, Pair, RankLine } from './protocol.js';
import { writeReports } from './report.js';
import { SCHEMA, type Results } from './schema.js';
import { runSingle } from './single.js';
import { summarize } from './stats.js';
import { Progress } from './progress.js';
import { hostListText, mergeHosts, probeTransport, runJob, type BenchJob, type Where } from './jobs.js';
import { chooseLinkRate, derive, linkMatrix, warningsOf } from './analysis.js';
import { PROFILE_ENV } from './comm-share.js';

export interface BenchOptions {
  quick: boolean;
  np?: number;
  hosts?: string;
  hostfile?: string;
  /** ranks per node in a node sweep (default: each host's slots) */
  ppn?: number;
  /** node counts of the sweep (default 1, 2, 4 … and all) */
  nodes?: number[];
  ssh?: string;
  iface?: string;
  /** the line rate links are set against, Mbit/s (default: what the OS reports, else 1000) */
  linkRate?: number;
  /** HPL's N at the largest job (default: from the nodes' memory; quick: small) */
  hplN?: number;
  /** the fraction of the nodes' memory HPL's matrix takes (full mode; default 0.4) */
  hplMem?: number;
  transport: 'ws' | 'mpi' | 'all';
  out: string;
  label?: string;
  /** run the kernel jobs with the recorder on: each kernel run's time in orchid calls (comm-share.ts) */
  profile?: boolean;
  /** skip parts (tests, debugging): see SKIPPABLE in cli.ts */
  skip?: string[];
  command?: string;
  log?: (line: string) => void;
}

/** The distinct hosts of the options, in order, each once with its slots. */
export function benchHosts(o: BenchOptions): HostSpec[] {
  return mergeHosts(o.hostfile ? readHostfile(o.hostfile) : o.hosts ? parseHostList(o.hosts) : []);
}

export async function runBench(opts: BenchOptions): Promise<{ results: Results; interrupted: boolean }> {
  let o = opts;
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const profile: Profile = o.quick ? QUICK : FULL;
  const skip = new Set(o.skip ?? []);
  const hosts = benchHosts(o);
  const multiHost = hosts.length > 1;
  const env = baseEnvironment();
  // the jobs: a node sweep on several hosts, a rank sweep on one
  let shapes: JobShape[];
  let nodeCounts: number[];
  if (multiHost) {
    nodeCounts = o.nodes ?? rankCounts(hosts.length);
    shapes = nodeSweep(hosts, nodeCounts, o.ppn);
  } else {
    nodeCounts = [1];
    const max = o.np ?? (hosts[0] ? (o.ppn ?? hosts[0].slots) : Math.max(2, env.cores));
    shapes = rankCounts(max).map((n) => ({ nodes: 1, ranks: n, perHost: [n], hosts: hosts[0] ? [{ name: hosts[0].name, slots: n }] : [], layout: n === 1 ? '1 rank' : `${n} ranks` }));
  }
  const counts = [...new Set(shapes.map((s) => s.ranks))];
  const largest = shapes[shapes.length - 1]!;
  const where = (s: JobShape): Where => (s.hosts.length ? { np: s.ranks, hostList: s.hosts, ssh: o.ssh, iface: o.iface } : { np: s.ranks, ssh: o.ssh, iface: o.iface });
  mkdirSync(o.out, { recursive: true });

  const results: Results = {
    schema: SCHEMA,
    label: o.label ?? (multiHost ? `${hosts[0]!.name.replace(/[0-9]+$/, '')}-x${hosts.length}` : `${env.hostnames[0]}-x${largest.ranks}`),
    partial: true,
    quick: o.quick,
    started: new Date().toISOString(),
    finished: '',
    command: o.command ?? 'orchid bench',
    rankCounts: counts,
    sweep: multiHost ? 'nodes' : 'ranks',
    nodeCounts,
    environment: env,
    measurements: [],
    links: [],
    hpcc: [],
    warnings: [],
    failures: [],
  };

  let stopping = false;
  let current: BenchJob | undefined;
  let currentChild: { pid?: number } | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopping) {
      current?.kill('SIGKILL');
      return;
    }
    stopping = true;
    log(`\norchid bench: ${sig}: stopping; keeping what finished`);
    current?.kill('SIGINT');
    if (currentChild?.pid) {
      try {
        process.kill(-currentChild.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
    }
  };
  const sigs = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of sigs) process.on(s, onSignal);

  let linkWarnings: string[] = [];
  const save = (): void => {
    results.finished = new Date().toISOString();
    if (env.loadAverage) env.loadAverage.end = Number(loadavg()[0]!.toFixed(2));
    derive(results.measurements);
    for (const m of results.measurements) {
      if (m.placement === 'inter' && m.unit === 'MB/s' && env.linkRate) m.lineRatio = m.median / (env.linkRate.mbps / 8);
    }
    results.warnings = warningsOf(results, linkWarnings);
    const file = join(o.out, 'results.json');
    writeFileSync(file + '.tmp', JSON.stringify(results, null, 1) + '\n');
    renameSync(file + '.tmp', file);
  };

  // MPI's own launchers (the C reference, hpcc) need to be told the network orchid's launcher finds itself
  if (multiHost && !o.iface) {
    const remote = hosts.find((h) => !isLocalHost(h.name));
    if (remote) {
      try {
        o = { ...o, iface: await addressTowards(remote.name, o.ssh) };
      } catch (e) {
        results.failures.push({ what: `route to ${remote.name}`, message: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  // transports
  const wanted = o.transport === 'all' ? ['ws', 'mpi'] : [o.transport];
  const transports: string[] = [];
  for (const t of wanted) {
    if (t === 'ws') {
      transports.push(t);
      continue;
    }
    const why = await probeTransport(where(shapes[0]!), t);
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
  // the HPC Challenge reference
  let hpcc: Hpcc | null = null;
  if (!skip.has('hpcc') && !skip.has('kernels')) {
    const found = findHpcc();
    hpcc = found.hpcc;
    if (found.note) {
      env.notes.push(found.note);
      log(`orchid bench: ${found.note}`);
    }
    env.hpcc = hpcc ? { binary: hpcc.binary, blas: hpcc.blas, mpiexec: hpcc.mpiexec } : null;
  }

  const addDetails = (ds: HostDetail[] | undefined): void => {
    for (const d of ds ?? []) {
      if (!env.hostnames.includes(d.name)) env.hostnames.push(d.name);
      env.hostDetails ??= [];
      if (!env.hostDetails.some((x) => x.name === d.name)) env.hostDetails.push(d);
    }
    if (multiHost && env.hostDetails?.length) env.linkRate = chooseLinkRate(o.linkRate, env.hostDetails, hosts.map((h) => h.name));
  };
  // HPL's N at one rank: from --hpl-n (N of the largest job), the nodes' memory (full) or the profile (quick)
  const hplBase = (): number => {
    if (o.hplN) return Math.max(8, Math.round(o.hplN / Math.sqrt(largest.ranks)));
    const fraction = o.hplMem ?? profile.hplMemFraction;
    if (!fraction) return profile.weak.hpl!;
    const mems = (env.hostDetails ?? []).filter((d) => hosts.length === 0 || hosts.some((h) => h.name === d.name)).map((d) => d.memoryBytes);
    const ppn = Math.max(...shapes.map((s) => Math.max(...s.perHost)));
    return hplBaseFromMemory(mems.length ? Math.min(...mems) : totalmem(), ppn, fraction);
  };

  const steps: Array<{ name: string; run: () => Promise<void> }> = [];
  const ingest = (lines: RankLine[], transport: string, s: JobShape): void => {
    const j = lines.find((l) => l.type === 'job') as Extract<RankLine, { type: 'job' }> | undefined;
    addDetails(j?.hostDetails);
    const hostsUsed = j?.hosts.length ?? 1;
    const threads = j?.threads ?? 1;
    const row = { impl: 'orchid' as const, transport, ranks: s.ranks, hosts: hostsUsed, nodes: s.nodes, ppn: Math.max(...s.perHost), layout: s.layout };
    for (const l of lines) {
      if (l.type === 'micro') {
        results.measurements.push({ kind: 'micro', benchmark: l.benchmark, ...row, threads: 1, size: l.size, unit: l.unit, iters: l.iters, placement: l.placement, ...summarize(l.samples) });
      } else if (l.type === 'kernel') {
        const sum = summarize(l.samples);
        const rate = l.work !== undefined && sum.median > 0 ? { rate: l.work / sum.median, rateUnit: KERNEL_RATES[l.kernel].unit } : {};
        results.measurements.push({ kind: 'kernel', kernel: l.kernel, scaling: l.scaling, ...row, threads: l.threads ?? threads, size: l.size, unit: 's', verified: l.verified, detail: l.detail, ...sum, ...rate, thermal: l.thermal, ...(l.profile ? { profile: l.profile } : {}) });
        if (!l.verified) results.failures.push({ what: `kernel ${l.kernel} (${l.scaling}, ${s.layout}, ${transport})`, message: `did not verify: ${l.detail}` });
      } else if (l.type === 'error') {
        results.failures.push({ what: `${transport} ${s.layout}`, message: l.message });
      }
    }
    const pairs = lines.filter((l): l is Extract<RankLine, { type: 'link' }> => l.type === 'link');
    if (pairs.length) {
      const m = linkMatrix(pairs, env.linkRate?.mbps ?? o.linkRate ?? 1000);
      results.links = m.links;
      linkWarnings = m.warnings;
    }
  };
  const jobStep = (transport: string, s: JobShape, spec: () => JobSpec, what: string, env?: Readonly<Record<string, string>>): void => {
    steps.push({
      name: `${what} · ${transport} · ${s.layout}`,
      run: async () => {
        const r = await runJob(where(s), transport, spec(), profile.jobTimeout, (j) => (current = j), env);
        current = undefined;
        ingest(r.lines, transport, s);
        if (r.code !== 0 && !stopping) {
          results.failures.push({ what: `${what}, ${transport}, ${s.layout}`, message: `${r.message ?? `exit ${r.code}`}${r.tail.length ? `\n${r.tail.slice(-10).join('\n')}` : ''}` });
        }
      },
    });
  };

  // the network first: every pair of hosts, one rank per host (also tells the hosts' memory for HPL)
  if (multiHost && !skip.has('links')) {
    const one = hosts.map((h) => ({ name: h.name, slots: 1 }));
    jobStep('ws', { nodes: hosts.length, ranks: hosts.length, perHost: one.map(() => 1), hosts: one, layout: layoutOf(one.map(() => 1)) }, () => ({ links: profile.links }), 'link matrix');
  }
  // --profile: the jobs that run kernels (and with them the micro-benchmarks) with the recorder on
  const kernelEnv = o.profile ? PROFILE_ENV : undefined;
  results.profiled = kernelEnv !== undefined && (!skip.has('kernels') || !skip.has('hybrid'));
  if (results.profiled) env.notes.push('--profile: the kernel jobs ran with the recorder on (each kernel run\'s time in orchid calls); its cost is in every figure of those jobs, the point-to-point and collective micro-benchmarks included');
  // point-to-point: inside a node, and across the link (the first job that can place each pair)
  const pairsFor = (s: JobShape, placed: Set<string>): Pair[] => {
    const out: Pair[] = [];
    if (!multiHost) return s.ranks >= 2 ? [{ a: 0, b: 1, placement: 'intra' }] : [];
    if (s.perHost[0]! >= 2 && !placed.has('intra')) out.push({ a: 0, b: 1, placement: 'intra' });
    if (s.nodes >= 2 && !placed.has('inter')) out.push({ a: 0, b: s.perHost[0]!, placement: 'inter' });
    for (const p of out) placed.add(p.placement);
    return out;
  };
  for (const t of transports) {
    const placed = new Set<string>();
    for (const s of shapes) {
      const pairs = pairsFor(s, placed);
      const micro = !skip.has('micro') && s.ranks >= 2 ? { ...profile.micro, pairs } : undefined;
      const kernels = !skip.has('kernels');
      if (micro || kernels) jobStep(t, s, () => ({ micro, kernels: kernels ? kernelSpecs(profile, hplBase()) : undefined }), 'micro + kernels', kernels ? kernelEnv : undefined);
    }
    if (!skip.has('hybrid')) {
      for (const s of shapes) {
        const spec: JobSpec = { hybrid: true, kernels: HYBRID_KERNELS.map((k) => ({ kernel: k, scaling: 'strong', base: profile.strong[k]!, repeats: profile.kernelRepeats })) };
        jobStep(t, s, () => spec, 'hybrid', kernelEnv);
      }
    }
  }
  if (c) {
    const cc = c;
    const placed = new Set<string>();
    for (const s of shapes.filter((x) => x.ranks >= 2)) {
      const pairs = pairsFor(s, placed);
      steps.push({
        name: `C MPI reference · ${s.layout}`,
        run: async () => {
          const m = profile.micro;
          const args = ['--sizes', m.p2pSizes.join(','), '--coll-sizes', m.collSizes.join(','), '--scale', String(m.scale), '--repeats', String(m.repeats), '--peers', pairs.map((p) => p.b).join(',') || 'none'];
          const run = runCMpi(cc, s.ranks, args, { hosts: s.hosts.length ? hostListText(s.hosts) : undefined, ssh: o.ssh, iface: o.iface }, profile.jobTimeout * 1000);
          currentChild = run.child;
          const r = await run.promise;
          currentChild = undefined;
          ingestC(r.lines, s, pairs);
          if (r.code !== 0 && !stopping) results.failures.push({ what: `C MPI reference, ${s.layout}`, message: `${cc.mpiexec} exited ${r.code}: ${r.stderr.trim().slice(-500)}` });
        },
      });
    }
  }
  const ingestC = (lines: CLine[], s: JobShape, pairs: Pair[]): void => {
    for (const l of lines) {
      if (l.type === 'env') {
        if (l.ranks !== s.ranks) throw new Error(`mpiexec started ${l.ranks}-rank jobs instead of one ${s.ranks}-rank job (mpicc and mpiexec from different MPIs?)`);
        if (env.mpi) {
          env.mpi.library = l.library ? shortLibrary(l.library) : env.mpi.library;
          env.mpi.version = l.mpi_version ?? '';
        }
        continue;
      }
      const placement = l.peer !== undefined ? pairs.find((p) => p.b === l.peer)?.placement : undefined;
      results.measurements.push({ kind: 'micro', benchmark: l.benchmark, impl: 'c-mpi', transport: 'c-mpi', ranks: l.ranks, hosts: s.nodes, nodes: s.nodes, ppn: Math.max(...s.perHost), layout: s.layout, threads: 1, size: l.size, unit: l.unit, iters: l.iters, placement, ...summarize(l.samples) });
    }
  };
  if (hpcc) {
    const h = hpcc;
    for (const s of shapes) {
      steps.push({
        name: `HPC Challenge (hpcc) · ${s.layout}`,
        run: async () => {
          const n = hplWeakN(hplBase(), s.ranks);
          const { p, q } = gridShape(s.ranks);
          const nb = Math.min(64, Math.max(8, n >> 3));
          const dir = mkdtempSync(join(tmpdir(), 'orchid-hpcc-'));
          const run = runHpcc(h, { ranks: s.ranks, n, nb, p, q, hosts: s.hosts.length ? hostListText(s.hosts) : undefined, ssh: o.ssh, iface: o.iface, timeoutMs: profile.jobTimeout * 1000, dir, yieldWhenIdle: process.env.ORCHID_BENCH_SHARED_CORES === '1' || undefined });
          currentChild = run.child;
          const r = await run.promise.finally(() => rmSync(dir, { recursive: true, force: true }));
          currentChild = undefined;
          if (!r.summary) {
            if (!stopping) results.failures.push({ what: `hpcc, ${s.layout}`, message: `${h.mpiexec} exited ${r.code}${r.timedOut ? ' (timed out)' : ''}: ${r.error ?? ''} ${r.stderr.trim().slice(-500)}`.trim() });
            return;
          }
          results.hpcc.push({ nodes: s.nodes, ranks: s.ranks, layout: s.layout, n, nb, p, q, passed: r.summary.hplPassed, hplGflops: r.summary.HPL_Tflops * 1000, seconds: r.seconds, summary: r.summary.all });
          if (!r.summary.hplPassed) results.failures.push({ what: `hpcc, ${s.layout}`, message: 'hpcc\'s HPL did not pass its residual check' });
        },
      });
    }
  }
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
    if (c) rmSync(dirname(c.binary), { recursive: true, force: true });
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

