// Putting an MPI job on orchid's hosts in the MPI's own syntax, for the programs the bench
// starts under mpiexec (the C reference, hpcc): the host list, the ssh command line as one
// executable, and the network to use.
import { writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { parseHostList, readHostfile, type HostSpec } from '../launcher/hostfile.js';
import { isLocalHost } from '../launcher/hosts.js';
import { shellQuote, splitCommand } from '../launcher/ssh.js';
import { mergeHosts } from './jobs.js';

/** Open MPI as root, and with more ranks than cores. */
export const ompiEnv = { OMPI_ALLOW_RUN_AS_ROOT: '1', OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1', OMPI_MCA_rmaps_base_oversubscribe: '1' };

export type MpiFlavor = 'mpich' | 'openmpi' | 'unknown';

/** Where an MPI job runs, in orchid's terms (host list, ssh command line, interface). */
export interface MpiWhere {
  hosts?: string;
  hostfile?: string;
  ssh?: string;
  iface?: string;
}

export interface MpiPlacement {
  args: string[];
  env: Record<string, string>;
  /** the hosts, each once (undefined: this host only) */
  hosts: HostSpec[] | undefined;
  /** the hosts that are not this one */
  remote: string[];
  /** the ssh wrapper script ('' when not needed) and where it was written in `dir` */
  agent: string;
  agentPath: string;
}

/**
 * mpiexec flags and environment that put a job on `w`'s hosts: MPICH Hydra `-f`/`-hosts`,
 * `-launcher-exec` and `-iface`; Open MPI `--hostfile` (its `slots=` form)/`--host`,
 * `plm_rsh_agent` without tree spawn, and the TCP network for its out-of-band and byte transfer.
 * Files (hostfile, ssh wrapper) go into `dir`.
 */
export function mpiexecPlacement(flavor: MpiFlavor, w: MpiWhere, dir: string): MpiPlacement {
  const hosts = w.hostfile !== undefined ? mergeHosts(readHostfile(w.hostfile)) : w.hosts !== undefined ? mergeHosts(parseHostList(w.hosts)) : undefined;
  const remote = (hosts ?? []).filter((x) => !isLocalHost(x.name)).map((x) => x.name);
  // the ssh command line as one executable: Hydra takes no arguments with -launcher-exec, and
  // Open MPI splits plm_rsh_agent at blanks and colons without quoting; the path exists on every host
  const agent = w.ssh !== undefined && remote.length ? `#!/bin/sh\nexec ${splitCommand(w.ssh).map(shellQuote).join(' ')} "$@"\n` : '';
  const agentPath = join(dir, 'ssh');
  if (agent) writeFileSync(agentPath, agent, { mode: 0o700 });
  const args: string[] = [];
  const env: Record<string, string> = {};
  const list = (hs: HostSpec[]): string => hs.map((x) => `${x.name}:${x.slots}`).join(',');
  if (flavor === 'mpich') {
    if (w.hostfile !== undefined) {
      const f = join(dir, 'hostfile');
      writeFileSync(f, hosts!.map((x) => `${x.name}:${x.slots}\n`).join(''));
      args.push('-f', f);
    } else if (hosts) args.push('-hosts', list(hosts));
    if (agent) args.push('-launcher', 'ssh', '-launcher-exec', agentPath);
    if (w.iface !== undefined) args.push('-iface', ifaceName(w.iface));
  } else {
    Object.assign(env, ompiEnv);
    if (w.hostfile !== undefined) {
      const f = join(dir, 'hostfile');
      writeFileSync(f, hosts!.map((x) => `${x.name} slots=${x.slots}\n`).join(''));
      args.push('--hostfile', f);
    } else if (hosts) args.push('--host', list(hosts));
    // no tree spawn: only this host runs ssh (the files ssh -F names need not exist elsewhere)
    if (agent) args.push('--mca', 'plm_rsh_agent', agentPath, '--mca', 'plm_rsh_no_tree_spawn', '1');
    if (w.iface !== undefined) {
      const cidr = ifaceCidr(w.iface);
      args.push('--mca', 'btl_tcp_if_include', cidr, '--mca', 'oob_tcp_if_include', cidr);
    }
  }
  return { args, env, hosts, remote, agent, agentPath };
}

/** The network `iface` names, as Open MPI's *_if_include wants it on every host: a CIDR. */
function ifaceCidr(iface: string): string {
  if (/^[0-9.]+\/\d+$/.test(iface) || /^[0-9a-f:]+\/\d+$/i.test(iface)) return iface;
  const nets = networkInterfaces();
  const addrs = isIP(iface) ? Object.values(nets).flatMap((a) => a ?? []).filter((a) => a.address === iface) : (nets[iface] ?? []);
  const a = addrs.find((x) => x.family === 'IPv4') ?? addrs[0];
  if (!a) {
    if (isIP(iface)) throw new Error(`iface ${iface} is not an address of this host; give an interface name or a network (a.b.c.d/n)`);
    return iface; // not an interface here: maybe one the hosts have
  }
  if (a.family !== 'IPv4') return a.cidr ?? iface;
  const bits = Number(a.cidr?.split('/')[1] ?? 32);
  const ip = a.address.split('.').reduce((x, o) => (x << 8) | Number(o), 0) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  const net = (ip & mask) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${bits}`;
}

/** The interface name for MPICH's -iface (which every host must have under that name). */
function ifaceName(iface: string): string {
  const nets = networkInterfaces();
  if (nets[iface]) return iface;
  const addr = iface.split('/')[0]!;
  if (!isIP(addr)) return iface;
  const bits = Number(iface.split('/')[1] ?? 32);
  for (const [name, addrs] of Object.entries(nets)) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4') continue;
      if (bits === 32 ? a.address === addr : ifaceCidr(name) === ifaceCidr(iface)) return name;
    }
  }
  throw new Error(`iface ${iface} is not an interface or network of this host`);
}

