// `orchid bench …` and `orchid bench compare …`: flags, then the driver or the comparison.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { OrchidError } from '../errors.js';
import { benchHosts, runBench, type BenchOptions } from './runner.js';
import { writeReports } from './report.js';
import { upgradeResults, validateResults, type Results } from './schema.js';

export const BENCH_HELP = `Usage: orchid bench [options]
       orchid bench compare A.json B.json ... [--out DIR]

Run orchid's benchmark suite on every transport asked for. On one host: for 1, 2,
4 ... ranks (up to -n, or the host's slots). On several hosts (-f/--hosts): for 1,
2, 4 ... nodes with every slot of each (or --ppn), plus a one-rank baseline, after
measuring every pair of hosts' link (latency, MB/s against the line rate; a slow
link is named). Measures ping-pong latency/bandwidth 8 B..4 MB (inside a node and
across the link), bcast, allreduce, alltoall and barrier latency by size (next to
the C MPI reference from bench/c when mpicc is installed), self-verifying kernels
with rates (pi intervals/s, matmul GFLOP/s, stencil M cell-updates/s, sort M keys/s,
primes numbers/s, HPL GFLOP/s) in strong and weak scaling, the HPC Challenge
(hpcc) on the same hosts and ranks as HPL's reference where installed, a hybrid
ranks x piscina threads mode and single-process codec/reduction benchmarks.
Per host: CPU core types, governor, clocks, temperatures and throttling, memory,
link speed and versions. Writes DIR/results.json, report.md and report.html.

Options:
      --quick            small sizes and few repeats (about a minute or two)
  -n, -np N              largest rank count (default: slots of the hosts, else cores)
  -f, --hostfile FILE    hosts as for orchidrun (MPICH host:slots, Open MPI slots=N)
      --hosts LIST       hosts inline: a,b:2,c
      --nodes LIST       node counts to sweep (default 1,2,4,... and all hosts)
      --ppn N            ranks per node (default: each host's slots)
      --ssh CMD          the ssh command line (as orchidrun's --ssh)
      --iface NAME|ADDR  the interface or address to advertise (as orchidrun's)
      --link-rate MBIT   line rate the links are set against, in Mbit/s (default:
                         what the OS reports for every host, else 1000)
      --hpl-n N          HPL's N at the largest job (default: --hpl-mem of memory;
                         quick mode: small); smaller jobs scale it by sqrt(ranks)
      --hpl-mem F        fraction of the nodes' memory for HPL's matrix (default 0.4)
      --transport T      ws | mpi | all (default all: ws, and mpi when a 1-rank
                         mpi job works; otherwise a note says why it was skipped)
      --out DIR          where to write the results (default bench-results)
      --label NAME       name of this run in reports and comparisons
                         (default HOST-xN, e.g. vim3-x4)
      --skip PART[,..]   leave out micro, kernels, hybrid, c, hpcc, links, single
      --profile          run the kernel jobs with orchid's recorder on: per kernel
                         run the share of time its ranks spent in orchid calls
                         (mean and max over ranks), the top calls and the bytes
                         sent, in results.json and a "Communication share" table
  -h, --help             show this help

compare: put several results.json side by side (tables and overlaid charts,
labelled by each run's --label) in DIR/report.md and DIR/report.html
(default DIR: bench-compare).

Exit status: 0 when everything ran and every kernel verified; 1 when something
failed; 2 for bad arguments; 130 when interrupted (partial results are kept).
`;

function arg(message: string): OrchidError {
  return new OrchidError('ERR_ARG', message);
}

export type ParsedBench = { kind: 'help' } | { kind: 'run'; options: BenchOptions } | { kind: 'compare'; files: string[]; out: string };

const SKIPPABLE = ['micro', 'kernels', 'hybrid', 'c', 'hpcc', 'links', 'single'];

export function parseBenchArgs(argv: readonly string[]): ParsedBench {
  if (argv[0] === 'compare') {
    const files: string[] = [];
    let out = 'bench-compare';
    for (let i = 1; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === '-h' || a === '--help') return { kind: 'help' };
      if (a === '--out' || a.startsWith('--out=')) {
        const v = a.includes('=') ? a.slice(6) : argv[++i];
        if (!v) throw arg('option --out needs a value');
        out = v;
      } else if (a.startsWith('-')) throw arg(`compare: unknown option ${JSON.stringify(a)}`);
      else files.push(a);
    }
    if (files.length < 1) throw arg('compare: give at least one results.json (usually two or more)');
    return { kind: 'compare', files, out };
  }
  const o: BenchOptions = { quick: false, transport: 'all', out: 'bench-results' };
  let nodesText: string | undefined;
  const positive = (flag: string, v: string): number => {
    if (!/^[0-9]+$/.test(v) || Number(v) < 1) throw arg(`${flag} must be a positive integer, got ${JSON.stringify(v)}`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const takes = ['n', 'np', 'hosts', 'hostfile', 'f', 'transport', 'out', 'label', 'skip', 'nodes', 'ppn', 'ssh', 'iface', 'link-rate', 'hpl-n', 'hpl-mem'].includes(name);
    if (!a.startsWith('-')) throw arg(`unexpected argument ${JSON.stringify(a)} (did you mean "orchid bench compare"?)`);
    let v: string | undefined;
    if (takes) {
      v = eq >= 0 ? body.slice(eq + 1) : argv[++i];
      if (v === undefined || v === '') throw arg(`option ${a.replace(/=.*/, '')} needs a value`);
    } else if (eq >= 0) throw arg(`option --${name} takes no value`);
    switch (name) {
      case 'h':
      case 'help':
        return { kind: 'help' };
      case 'quick':
        o.quick = true;
        break;
      case 'profile':
        o.profile = true;
        break;
      case 'n':
      case 'np':
        o.np = positive('-n', v!);
        break;
      case 'hosts':
        o.hosts = v;
        break;
      case 'nodes':
        if (!/^[0-9]+(,[0-9]+)*$/.test(v!)) throw arg(`--nodes must be a list of node counts such as 1,2,4, got ${JSON.stringify(v)}`);
        nodesText = v;
        break;
      case 'ppn':
        o.ppn = positive('--ppn', v!);
        break;
      case 'ssh':
        o.ssh = v;
        break;
      case 'iface':
        o.iface = v;
        break;
      case 'link-rate':
        o.linkRate = positive('--link-rate', v!);
        break;
      case 'hpl-n':
        o.hplN = positive('--hpl-n', v!);
        break;
      case 'hpl-mem': {
        const f = Number(v);
        if (!(f > 0 && f < 1)) throw arg(`--hpl-mem must be a fraction between 0 and 1, got ${JSON.stringify(v)}`);
        o.hplMem = f;
        break;
      }
      case 'f':
      case 'hostfile':
        if (!existsSync(v!)) throw arg(`--hostfile: no such file ${JSON.stringify(v)}`);
        o.hostfile = v;
        break;
      case 'transport':
        if (!['ws', 'mpi', 'all'].includes(v!)) throw arg(`--transport must be ws, mpi or all, got ${JSON.stringify(v)}`);
        o.transport = v as BenchOptions['transport'];
        break;
      case 'out':
        o.out = v!;
        break;
      case 'label':
        o.label = v;
        break;
      case 'skip': {
        const parts = v!.split(',').filter(Boolean);
        const bad = parts.filter((p) => !SKIPPABLE.includes(p));
        if (bad.length) throw arg(`--skip: unknown part ${JSON.stringify(bad[0])} (one of ${SKIPPABLE.join(', ')})`);
        o.skip = parts;
        break;
      }
      default:
        throw arg(`unknown option ${JSON.stringify(a)}`);
    }
  }
  if (o.hosts && o.hostfile) throw arg('give either --hosts or --hostfile, not both');
  const hosts = benchHosts(o).length;
  if (hosts > 1 && o.np !== undefined) throw arg(`-n: with ${hosts} hosts the sweep is over nodes; give --nodes and --ppn instead`);
  if (nodesText !== undefined) {
    if (hosts < 2) throw arg('--nodes needs several hosts (-f/--hostfile or --hosts)');
    const xs = nodesText.split(',').map(Number);
    const bad = xs.find((x) => x < 1 || x > hosts);
    if (bad !== undefined) throw arg(`--nodes: ${bad} is not between 1 and the ${hosts} hosts given`);
    o.nodes = [...new Set(xs)].sort((a, b) => a - b);
  }
  return { kind: 'run', options: o };
}

export function loadResults(file: string): Results {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw arg(`${file}: cannot read results (${e instanceof Error ? e.message : String(e)})`);
  }
  data = upgradeResults(data);
  const errors = validateResults(data);
  if (errors.length) throw arg(`${file}: not an orchid bench results file: ${errors.slice(0, 3).join('; ')}`);
  return data as Results;
}

export async function benchMain(argv: readonly string[]): Promise<number> {
  const parsed = parseBenchArgs(argv);
  if (parsed.kind === 'help') {
    process.stdout.write(BENCH_HELP);
    return 0;
  }
  if (parsed.kind === 'compare') {
    const all = parsed.files.map(loadResults);
    // same labels would be indistinguishable: number them
    const seen = new Map<string, number>();
    for (const r of all) {
      const n = (seen.get(r.label) ?? 0) + 1;
      seen.set(r.label, n);
      if (n > 1) r.label = `${r.label} (${n})`;
    }
    mkdirSync(parsed.out, { recursive: true });
    writeReports(all, parsed.out);
    process.stdout.write(`orchid bench compare: wrote ${parsed.out}/report.md and ${parsed.out}/report.html\n`);
    return 0;
  }
  const o = parsed.options;
  o.command = ['orchid', 'bench', ...argv].join(' ');
  const { results, interrupted } = await runBench(o);
  const failed = results.failures.length > 0;
  process.stdout.write(`orchid bench: ${results.measurements.length} measurements${interrupted ? ' (interrupted: partial)' : ''}; wrote ${o.out}/results.json, report.md, report.html\n`);
  for (const f of results.failures) process.stderr.write(`orchid bench: FAILED ${f.what}: ${f.message}\n`);
  const pi1 = results.measurements.find((m) => m.kernel === 'pi' && m.scaling === 'strong' && m.ranks === 2 && m.transport === 'ws');
  if (pi1?.speedup !== undefined) process.stdout.write(`orchid bench: pi, 2 ranks vs 1 (ws): ${pi1.speedup.toFixed(2)}x\n`);
  const hpl = results.measurements.filter((m) => m.kernel === 'hpl' && m.transport === 'ws' && m.rate !== undefined).at(-1);
  if (hpl) process.stdout.write(`orchid bench: HPL ${hpl.layout} (ws): ${hpl.rate!.toFixed(2)} GFLOP/s${results.hpcc.length ? `, hpcc ${results.hpcc.at(-1)!.hplGflops.toFixed(2)} GFLOP/s` : ''}\n`);
  for (const w of results.warnings.slice(0, 10)) process.stderr.write(`orchid bench: warning: ${w}\n`);
  if (results.warnings.length > 10) process.stderr.write(`orchid bench: ${results.warnings.length - 10} more warnings in ${o.out}/report.md\n`);
  return interrupted ? 130 : failed ? 1 : 0;
}
