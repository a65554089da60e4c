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

export interface LaunchOptions {
  /** Number of ranks (default: total slots of the hosts, else this host's cores; with ppn: ppn × hosts). */
  np?: number;
  /** A .js/.mjs/.cjs/.ts/.mts/.cts file, or any executable. */
  script: string;
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
  /** Allow more ranks per host than the limit (ranksPerHostLimit()): `--oversubscribe`. */
  oversubscribe?: boolean;
}

export interface JobPlan {
  placement: Placement;
  bootstrap: Bootstrap;
  script: string;
  args: string[];
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
  if (typeof opts.script !== 'string' || opts.script === '') throw arg('no script given');
  const np = positiveInt(opts.np, '-n (number of ranks)');
  const ppn = positiveInt(opts.ppn, '--ppn');

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
  const placement = placeRanks(hosts, np, ppn);
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
  const script = resolveScript(opts.script, process.cwd(), opts.wdir === undefined ? undefined : wdir, allLocal);

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
    script,
    args: [...(opts.args ?? [])].map(String),
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
