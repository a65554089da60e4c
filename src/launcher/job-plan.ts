// launch() options, checked and resolved into a job plan before anything starts.
// Every problem here is an OrchidError ERR_ARG naming the option (orchidrun: exit 2).
import { statSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism, hostname, networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { OrchidError } from '../errors.js';
import { parseHostList, readHostfile, type HostSpec } from './hostfile.js';
import { selectBootstrap, type Bootstrap, type BootstrapName } from './bootstrap.js';
import { placeRanks, type Placement } from './placement.js';
import { resolveScript } from './script.js';
import { isLoopback, splitCommand } from './ssh.js';
import { inAllocation, slurmHosts } from './slurm.js';

export type TransportName = 'auto' | 'ws' | 'mpi';

/** One section of an MPMD job (`orchidrun -n 1 a.mjs : -n 3 b.mjs`): ranks numbered across sections in order. */
export interface LaunchSection {
  /** Ranks of this section (default 1 when there are several sections). */
  np?: number;
  script: string;
  args?: string[];
  /** This section's environment, on top of the job's `env` (MPICH's -env; -genv is `env`). */
  env?: Record<string, string>;
}

/** What a section becomes in the plan. */
export interface PlanApp {
  script: string;
  args: string[];
  env: Record<string, string>;
  /** First rank of the section and its number of ranks. */
  first: number;
  np: number;
}

export interface LaunchOptions {
  /** Number of ranks (default: total slots of the hosts, else this host's cores; with ppn: ppn × hosts). */
  np?: number;
  /** A .js/.mjs/.cjs/.ts/.mts/.cts file, or any executable (or give `sections`). */
  script?: string;
  /** MPMD: several sections in one world, instead of `np`/`script`/`args`. */
  sections?: LaunchSection[];
  args?: string[];
  /** `"a,b:2,c"` or a list of names / `name:slots` / `{ name, slots }`. */
  hosts?: string | Array<string | HostSpec>;
  hostfile?: string;
  ppn?: number;
  transport?: TransportName;
  bootstrap?: BootstrapName;
  /** Extra environment for the ranks (on top of the launcher's own, which they inherit). */
  env?: Record<string, string>;
  /** Names of launcher environment variables to pass on explicitly. */
  export?: string[];
  wdir?: string;
  /** Seconds; the job is killed after this (exit code 124). */
  timeout?: number;
  /** Prefix each output line's text with `[rank] `. */
  tagOutput?: boolean;
  /** What rank 0 reads (default 'ignore'); every other rank reads /dev/null. */
  stdin?: 'inherit' | 'ignore' | Readable | string;
  /** Interface name or address the coordinator and the ranks advertise. */
  iface?: string;
  /** ssh command line (for the ssh bootstrap). */
  ssh?: string;
  /**
   * Output lines buffered before the launcher stops reading from the proxies (which then
   * stop reading from the ranks). Default: unbounded, so a consumer that reads late (or
   * never) cannot stall the job. orchidrun sets a bound.
   */
  outputHighWater?: number;
  /** Time between SIGTERM and SIGKILL when the job is torn down (default 1000 ms). */
  killGraceMs?: number;
  /** slot (default): fill each host's slots in turn; node: one rank per host round-robin. */
  mapBy?: 'slot' | 'node';
  /** core: each rank pinned to one core of its host (through taskset), in rank order. */
  bindTo?: 'core' | 'none';
  /** Each rank's host prints `[host] rank R bound to core C (cpus …)` on the rank's stderr. */
  reportBindings?: boolean;
  /** Print the rank -> host map (output lines of rank -1) before the job starts. */
  displayMap?: boolean;
  /** More ranks than a host's slots / cores are intended: limits on ranks per host do not apply. */
  oversubscribe?: boolean;
  /** Also write each rank's output into DIR/1/rank.N/stdout and …/stderr (Open MPI's layout). */
  outputFilename?: string;
  /** Write DIR/trace.json (Chrome Trace Event format) and DIR/timeline.html at the end (see-inside.ts). */
  trace?: string;
  /** Print an mpiP-style summary of the calls at the end (output lines of rank -1); a string: also as JSON into that file. */
  profile?: boolean | string;
  /** Serve a live page of the job on 127.0.0.1 (its URL is the first output line); a number: that port. */
  live?: boolean | number;
}

export interface JobPlan {
  placement: Placement;
  bootstrap: Bootstrap;
  /** The first section's script and arguments (the only ones unless MPMD). */
  script: string;
  args: string[];
  /** The sections (one unless MPMD), in rank order. */
  apps: PlanApp[];
  mapBy: 'slot' | 'node';
  bindTo: 'core' | 'none';
  reportBindings: boolean;
  displayMap: boolean;
  oversubscribe: boolean;
  wdir: string;
  /** User-requested environment (--export, then --env). */
  env: Record<string, string>;
  /** The transport ranks are told to use. */
  transport: 'ws';
  /**
   * Address the coordinator binds and this host's ranks advertise; undefined: found when
   * the job starts (the address that routes to the first remote host).
   */
  addr: string | undefined;
  /** ssh command line for remote hosts. */
  ssh: string | undefined;
  timeout: number | undefined;
  tagOutput: boolean;
  stdin: 'inherit' | 'ignore' | Readable | string;
  killGraceMs: number;
  outputHighWater: number;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function arg(message: string): OrchidError {
  return new OrchidError('ERR_ARG', message);
}

function positiveInt(value: unknown, what: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw arg(`${what} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

function hostSpecs(opts: LaunchOptions): HostSpec[] | undefined {
  if (opts.hosts !== undefined && opts.hostfile !== undefined) throw arg('give either hosts or a hostfile, not both');
  if (opts.hostfile !== undefined) return readHostfile(opts.hostfile);
  if (opts.hosts === undefined) return undefined;
  if (typeof opts.hosts === 'string') return parseHostList(opts.hosts);
  const out: HostSpec[] = [];
  for (const h of opts.hosts) {
    if (typeof h === 'string') out.push(...parseHostList(h, 'hosts'));
    else out.push({ name: h.name, slots: positiveInt(h.slots, `hosts: slots of ${h.name}`) ?? 1 });
  }
  if (out.length === 0) throw arg('hosts: the list is empty');
  return out;
}

function ifaceAddress(iface: string): string {
  if (isIP(iface)) return iface;
  const addrs = networkInterfaces()[iface];
  if (!addrs || addrs.length === 0) throw arg(`--iface: no interface or address ${JSON.stringify(iface)}`);
  return (addrs.find((a) => a.family === 'IPv4') ?? addrs[0]!).address;
}

/** The section rank `rank` belongs to. */
export function appOfRank(plan: Pick<JobPlan, 'apps'>, rank: number): PlanApp & { index: number } {
  const index = plan.apps.findIndex((a) => rank >= a.first && rank < a.first + a.np);
  const k = index < 0 ? 0 : index;
  return { ...plan.apps[k]!, index: k };
}

function sectionsOf(opts: LaunchOptions): { sections: LaunchSection[]; np: number | undefined } {
  if (opts.sections === undefined) {
    if (typeof opts.script !== 'string' || opts.script === '') throw arg('no script given');
    return { sections: [{ script: opts.script, args: opts.args ?? [] }], np: positiveInt(opts.np, '-n (number of ranks)') };
  }
  if (!Array.isArray(opts.sections) || opts.sections.length === 0) throw arg('sections: the list is empty');
  if (opts.script !== undefined && opts.script !== '') throw arg('give either script or sections, not both');
  if (opts.np !== undefined) throw arg('with sections, give each section its own np (-n)');
  if (opts.args !== undefined) throw arg('with sections, give each section its own args');
  const many = opts.sections.length > 1;
  let total = 0;
  opts.sections.forEach((s, k) => {
    const name = `section ${k + 1}${typeof s?.script === 'string' && s.script !== '' ? ` (${s.script})` : ''}`;
    if (typeof s?.script !== 'string' || s.script === '') throw arg(`${name}: no script given`);
    const n = positiveInt(s.np, `${name}: -n (number of ranks)`);
    total += n ?? 1;
  });
  const single = opts.sections.length === 1 ? positiveInt(opts.sections[0]!.np, '-n (number of ranks)') : undefined;
  return { sections: opts.sections, np: many ? total : single };
}

/**
 * The most ranks one host may get without `oversubscribe`: ORCHID_MAX_RANKS_PER_HOST (0: no
 * limit), else 32 per core of this machine and at least 64. A host's own slot count (hostfile,
 * `name:slots`) is always allowed.
 */
export function ranksPerHostLimit(env: NodeJS.ProcessEnv = process.env): { limit: number; why: string } {
  const v = env.ORCHID_MAX_RANKS_PER_HOST;
  if (v !== undefined && v !== '') {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw arg(`ORCHID_MAX_RANKS_PER_HOST=${v} is not a non-negative integer`);
    return { limit: n === 0 ? Infinity : n, why: `ORCHID_MAX_RANKS_PER_HOST=${v}` };
  }
  const cores = availableParallelism();
  return { limit: Math.max(64, 32 * cores), why: `32 per core, ${cores} core${cores === 1 ? '' : 's'} here` };
}

function checkRanksPerHost(placement: Placement, hosts: HostSpec[], np: number | undefined): void {
  const { limit, why } = ranksPerHostLimit();
  for (const h of placement.hosts) {
    const slots = hosts.find((s) => s.name === h.name)?.slots ?? 0;
    if (h.ranks.length <= Math.max(limit, slots)) continue;
    throw arg(
      `${np !== undefined ? `-n ${np}` : 'this job'} puts ${h.ranks.length} ranks on host ${h.name}, more than the limit of ${limit} per host (${why}); ` +
        `set ORCHID_MAX_RANKS_PER_HOST=N (0: no limit) or give --oversubscribe to run it anyway`,
    );
  }
}

export function planJob(opts: LaunchOptions): JobPlan {
  const { sections, np } = sectionsOf(opts);
  const ppn = positiveInt(opts.ppn, '--ppn');
  const mapBy = opts.mapBy ?? 'slot';
  if (mapBy !== 'slot' && mapBy !== 'node') throw arg(`--map-by must be node or slot, got ${JSON.stringify(opts.mapBy)}`);
  const bindTo = opts.bindTo ?? 'none';
  if (bindTo !== 'core' && bindTo !== 'none') throw arg(`--bind-to must be core or none, got ${JSON.stringify(opts.bindTo)}`);

  const transport = opts.transport ?? 'auto';
  if (transport === 'mpi') throw arg('the mpi transport is not available: the native addon is not built');
  if (transport !== 'auto' && transport !== 'ws') throw arg(`--transport must be auto, ws or mpi, got ${JSON.stringify(transport)}`);

  if (opts.timeout !== undefined && !(typeof opts.timeout === 'number' && opts.timeout > 0 && Number.isFinite(opts.timeout))) {
    throw arg(`--timeout must be a positive number of seconds, got ${JSON.stringify(opts.timeout)}`);
  }

  const specified = hostSpecs(opts);
  // inside a Slurm allocation the hosts are the allocation's (as mpiexec does there)
  const useSlurm = opts.bootstrap === 'slurm' || (opts.bootstrap === undefined && specified === undefined && inAllocation());
  const hosts = specified ?? (useSlurm ? slurmHosts() : [{ name: hostname(), slots: ppn ?? availableParallelism() }]);
  const placement = placeRanks(hosts, np, ppn, mapBy);
  if (!opts.oversubscribe) checkRanksPerHost(placement, hosts, np);
  const bootstrap = selectBootstrap(useSlurm ? 'slurm' : opts.bootstrap, placement.hosts, opts.ssh);
  const remote = placement.hosts.find((h) => !h.local);
  if (opts.ssh !== undefined) splitCommand(opts.ssh);
  const addr = opts.iface !== undefined ? ifaceAddress(opts.iface) : remote ? undefined : '127.0.0.1';
  if (addr !== undefined && remote && isLoopback(addr)) {
    throw arg(`--iface ${opts.iface}: ${addr} is a loopback address, which host ${remote.name} cannot reach`);
  }

  let wdir = process.cwd();
  if (opts.wdir !== undefined) {
    wdir = resolve(opts.wdir);
    let isDir = false;
    try {
      isDir = statSync(wdir).isDirectory();
    } catch {
      // reported below
    }
    if (!isDir) throw arg(`--wdir: no such directory: ${opts.wdir}`);
  }

  const allLocal = placement.hosts.every((h) => h.local);
  const many = sections.length > 1;
  const apps: PlanApp[] = [];
  let first = 0;
  sections.forEach((sec, k) => {
    const name = `section ${k + 1} (${sec.script})`;
    let script: string;
    try {
      script = resolveScript(sec.script, process.cwd(), opts.wdir === undefined ? undefined : wdir, allLocal);
    } catch (e) {
      throw many && e instanceof OrchidError ? arg(`${name}: ${e.message}`) : e;
    }
    const env: Record<string, string> = {};
    for (const [k2, v] of Object.entries(sec.env ?? {})) {
      if (!ENV_NAME.test(k2)) throw arg(`${many ? `${name}: ` : ''}--env: bad variable name ${JSON.stringify(k2)}`);
      env[k2] = String(v);
    }
    const n = many ? sec.np ?? 1 : placement.np;
    apps.push({ script, args: [...(sec.args ?? [])].map(String), env, first, np: n });
    first += n;
  });

  const env: Record<string, string> = {};
  for (const spec of opts.export ?? []) {
    for (const name of spec.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
      const eq = name.indexOf('=');
      if (eq > 0) {
        // Open MPI's -x NAME=VALUE form
        const k = name.slice(0, eq);
        if (!ENV_NAME.test(k)) throw arg(`--export: bad variable name ${JSON.stringify(k)}`);
        env[k] = name.slice(eq + 1);
        continue;
      }
      if (!ENV_NAME.test(name)) throw arg(`--export: bad variable name ${JSON.stringify(name)}`);
      const value = process.env[name];
      if (value === undefined) throw arg(`--export ${name}: ${name} is not set in the environment`);
      env[name] = value;
    }
  }
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (!ENV_NAME.test(k)) throw arg(`--env: bad variable name ${JSON.stringify(k)}`);
    env[k] = String(v);
  }

  const killGraceMs = opts.killGraceMs ?? 1000;
  if (!(killGraceMs >= 0)) throw arg(`killGraceMs must be >= 0, got ${killGraceMs}`);

  return {
    placement,
    bootstrap,
    script: apps[0]!.script,
    args: apps[0]!.args,
    apps,
    mapBy,
    bindTo,
    reportBindings: opts.reportBindings ?? false,
    displayMap: opts.displayMap ?? false,
    oversubscribe: opts.oversubscribe ?? false,
    wdir,
    env,
    transport: 'ws',
    addr,
    ssh: opts.ssh,
    timeout: opts.timeout,
    tagOutput: opts.tagOutput ?? false,
    stdin: opts.stdin ?? 'ignore',
    killGraceMs,
    outputHighWater: opts.outputHighWater ?? Infinity,
  };
}
