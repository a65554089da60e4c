// Bootstraps: how a proxy reaches its host. Every bootstrap starts the same proxy
// program speaking the same stdin/stdout protocol; only the way it is started differs
// (fork: a local child; ssh: `ssh HOST -- exec node /path/dist/launcher/proxy.js`, ssh.ts).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OrchidError } from '../errors.js';
import type { HostPlan } from './placement.js';
import { ProxyLink } from './proxy-link.js';
import { tsxLoaderUrl } from './script.js';
import { startSrunProxy } from './slurm.js';
import { startSshProxy } from './ssh.js';

export type BootstrapName = 'fork' | 'ssh' | 'slurm';

export interface Bootstrap {
  readonly name: BootstrapName;
  startProxy(host: HostPlan): ProxyLink;
}

/** The proxy program next to this file (dist/launcher/proxy.js; proxy.ts when run from source). */
export function proxyCommand(): string[] {
  const js = fileURLToPath(new URL('./proxy.js', import.meta.url));
  if (existsSync(js)) return [js];
  const ts = fileURLToPath(new URL('./proxy.ts', import.meta.url));
  return ['--import', tsxLoaderUrl(), ts];
}

export const forkBootstrap: Bootstrap = {
  name: 'fork',
  startProxy(host: HostPlan): ProxyLink {
    // Own process group: a Ctrl-C at the terminal reaches only the launcher, which
    // decides what the ranks get. The proxy still dies with the launcher via stdin EOF.
    const child = spawn(process.execPath, proxyCommand(), {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      env: process.env,
    });
    return new ProxyLink(host.name, child, true);
  },
};

/** ssh for remote hosts; this host's proxy is still forked (no ssh to oneself). */
export function sshBootstrap(ssh?: string): Bootstrap {
  return {
    name: 'ssh',
    startProxy(host: HostPlan): ProxyLink {
      if (host.local) return forkBootstrap.startProxy(host);
      return startSshProxy(host, { ssh, proxy: proxyCommand() });
    },
  };
}

/** Every host's proxy (this host's too) as a one-task job step of the Slurm allocation. */
export const slurmBootstrap: Bootstrap = {
  name: 'slurm',
  startProxy(host: HostPlan): ProxyLink {
    return startSrunProxy(host, proxyCommand());
  },
};

/** Pick the bootstrap for these hosts, or explain why this build cannot reach them. */
export function selectBootstrap(requested: BootstrapName | undefined, hosts: HostPlan[], ssh?: string): Bootstrap {
  if (requested === 'slurm') return slurmBootstrap;
  if (requested === 'fork') {
    const remote = hosts.find((h) => !h.local);
    if (remote) throw new OrchidError('ERR_ARG', `--bootstrap fork: host ${remote.name} is not this host (use ssh)`);
    return forkBootstrap;
  }
  if (requested === 'ssh' || hosts.some((h) => !h.local)) return sshBootstrap(ssh);
  return forkBootstrap;
}
