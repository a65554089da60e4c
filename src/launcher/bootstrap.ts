// Bootstraps: how a proxy reaches its host. Every bootstrap starts the same proxy
// program speaking the same stdin/stdout protocol; only the way it is started differs
// (fork: a local child; ssh, later: `ssh HOST node /path/dist/launcher/proxy.js`).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OrchidError } from '../errors.js';
import type { HostPlan } from './plan.js';
import { ProxyLink } from './proxy-link.js';
import { tsxLoaderUrl } from './script.js';

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

/** Pick the bootstrap for these hosts, or explain why this build cannot reach them. */
export function selectBootstrap(requested: BootstrapName | undefined, hosts: HostPlan[]): Bootstrap {
  if (requested === 'ssh' || requested === 'slurm') {
    throw new OrchidError('ERR_ARG', `the ${requested} bootstrap is not available in this build yet (only fork, for this host)`);
  }
  const remote = hosts.find((h) => !h.local);
  if (remote) {
    throw new OrchidError(
      'ERR_ARG',
      `host ${remote.name} is remote: remote hosts need the ssh bootstrap, which this build does not have yet`,
    );
  }
  return forkBootstrap;
}
