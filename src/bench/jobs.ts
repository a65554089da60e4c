// Starting one benchmark job on a set of hosts and reading rank 0's result lines back.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { launch, type HostSpec } from '../launcher/index.js';
import { LINE_PREFIX, type JobSpec, type RankLine } from './protocol.js';

const RANK_SCRIPT = fileURLToPath(new URL('./rank.js', import.meta.url));
const PROBE_SCRIPT = fileURLToPath(new URL('./probe.js', import.meta.url));
const ORCHIDRUN = fileURLToPath(new URL('../cli/orchidrun.js', import.meta.url));

/** Where a job runs: the launcher's host options, as orchidrun takes them. */
export interface Where {
  np: number;
  /** explicit hosts with the ranks each takes (node sweep); else hosts/hostfile below */
  hostList?: HostSpec[];
  hosts?: string;
  hostfile?: string;
  ssh?: string;
  iface?: string;
}

/** What the driver needs of a running job: its output lines, its end, a way to stop it. */
export interface BenchJob {
  output: AsyncIterable<{ rank: number; text: string }>;
  done: Promise<{ code: number; message?: string }>;
  kill(signal?: NodeJS.Signals): void;
}

/** Each host once, in order of first mention, with the slots of all its mentions. */
export function mergeHosts(specs: HostSpec[]): HostSpec[] {
  const out: HostSpec[] = [];
  for (const s of specs) {
    const same = out.find((h) => h.name === s.name);
    if (same) same.slots += s.slots;
    else out.push({ ...s });
  }
  return out;
}

/** `--hosts` text for a host list: "a:6,b:6". */
export const hostListText = (hosts: HostSpec[]): string => hosts.map((h) => `${h.name}:${h.slots}`).join(',');

/**
 * ws jobs run in this process through launch(). Other transports run under a child
 * `orchidrun`: the mpi launcher loads the native addon (and with it libmpi) into the
 * launching process, and the driver must survive whatever that library does.
 */
export function startJob(w: Where, transport: string, script: string, args: string[], timeout: number, env?: Readonly<Record<string, string>>): BenchJob {
  if (transport === 'ws') {
    const job = launch({ np: w.np, script, args, hosts: w.hostList ?? w.hosts, hostfile: w.hostList ? undefined : w.hostfile, ssh: w.ssh, iface: w.iface, transport: 'ws', timeout, env: env && { ...env } });
    return { output: job.output, done: job.done, kill: (sig) => job.kill(sig) };
  }
  const hostArgs = w.hostList ? ['--hosts', hostListText(w.hostList)] : w.hostfile ? ['--hostfile', w.hostfile] : w.hosts ? ['--hosts', w.hosts] : [];
  if (w.ssh) hostArgs.push('--ssh', w.ssh);
  if (w.iface) hostArgs.push('--iface', w.iface);
  for (const [k, v] of Object.entries(env ?? {})) hostArgs.push('--env', `${k}=${v}`);
  const child = spawn(process.execPath, [ORCHIDRUN, '-n', String(w.np), '--transport', transport, '--timeout', String(timeout), ...hostArgs, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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

/**
 * Run a benchmark job, collecting rank 0's bench lines; other output is kept for error
 * messages. `env`: more environment for the ranks (orchid bench --profile's recorder).
 */
export async function runJob(w: Where, transport: string, spec: JobSpec, timeout: number, onJob: (j: BenchJob) => void, env?: Readonly<Record<string, string>>): Promise<{ lines: RankLine[]; code: number; message?: string; tail: string[] }> {
  const job = startJob(w, transport, RANK_SCRIPT, [JSON.stringify(spec)], timeout, env);
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

/** null when a 1-rank job on `transport` works, else why not. */
export async function probeTransport(w: Where, transport: string): Promise<string | null> {
  try {
    const job = startJob({ ...w, np: 1 }, transport, PROBE_SCRIPT, [], 60);
    const out: string[] = [];
    for await (const l of job.output) out.push(l.text);
    const r = await job.done;
    return r.code === 0 ? null : `a 1-rank job failed (${r.message ?? `exit ${r.code}`}${out.length ? `: ${out.slice(-3).join(' | ')}` : ''})`;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
