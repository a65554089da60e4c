// The ssh bootstrap: one proxy per remote host, started as
//   ssh [user's ssh args] -T -o BatchMode=yes -o ConnectTimeout=S HOST -- exec NODE /abs/dist/launcher/proxy.js
// with the system OpenSSH (so ~/.ssh/config, agents and known_hosts work as the user set
// them up). The proxy protocol runs over the session's stdin/stdout; the job secret is in
// the first line on stdin, never on a command line.
import { execFile, spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { OrchidError } from '../errors.js';
import { sourceAddressFor } from './hosts.js';
import type { HostPlan } from './placement.js';
import { ProxyLink } from './proxy-link.js';

/** Seconds ssh may take to connect (ORCHID_SSH_CONNECT_TIMEOUT, default 10). */
export function connectTimeout(): number {
  const v = Number(process.env.ORCHID_SSH_CONNECT_TIMEOUT);
  return Number.isFinite(v) && v > 0 ? Math.ceil(v) : 10;
}

/**
 * Split a command line into words like a POSIX shell would (quotes, backslashes), without
 * expansions. `ssh -F "my dir/cfg"` -> ['ssh', '-F', 'my dir/cfg'].
 */
export function splitCommand(line: string, what = '--ssh'): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new OrchidError('ERR_ARG', `${what}: unterminated ' in ${JSON.stringify(line)}`);
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= line.length) throw new OrchidError('ERR_ARG', `${what}: unterminated " in ${JSON.stringify(line)}`);
        const d = line[i]!;
        if (d === '"') break;
        if (d === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1]!)) {
          cur += line[i + 1];
          i += 2;
        } else {
          cur += d;
          i++;
        }
      }
      inWord = true;
      i++;
    } else if (c === '\\') {
      if (i + 1 < line.length && line[i + 1] !== '\n') cur += line[i + 1];
      inWord = true;
      i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      i++;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(cur);
  if (words.length === 0) throw new OrchidError('ERR_ARG', `${what}: empty command`);
  return words;
}

/** Quote one word for a POSIX shell (the remote side of ssh runs the command through one). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The full ssh argv (without the program) that runs `remote` on `host`. */
export function sshArgs(ssh: string[], host: string, remote: string[], timeoutS = connectTimeout()): string[] {
  return [
    ...ssh.slice(1),
    '-T',
    '-o', 'BatchMode=yes',
    '-o', `ConnectTimeout=${timeoutS}`,
    host,
    '--',
    remote.map(shellQuote).join(' '),
  ];
}

export interface SshOptions {
  /** The ssh command line (default: `ssh`). */
  ssh?: string;
  /** The proxy's command line on the remote host: node and its arguments. */
  proxy: string[];
}

/** Start one proxy on a remote host over ssh. */
export function startSshProxy(host: HostPlan, opts: SshOptions): ProxyLink {
  const ssh = splitCommand(opts.ssh ?? 'ssh');
  const remoteNode = process.env.ORCHID_REMOTE_NODE || process.execPath;
  const args = sshArgs(ssh, host.name, ['exec', remoteNode, ...opts.proxy]);
  // Own process group: a Ctrl-C at the terminal reaches only the launcher. When the
  // launcher dies, ssh sees EOF on its stdin and passes it on: the proxy ends its ranks.
  const child = spawn(ssh[0]!, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: process.env });
  const link = new ProxyLink(host.name, child, false, 'ssh');
  link.reaper = (job) => reapOverSsh(ssh, host.name, remoteNode, job);
  return link;
}

// Run on a host whose proxy is gone: SIGKILL every process whose environment carries the
// job's ORCHID_JOB (its ranks and whatever they started). Linux /proc; elsewhere a no-op.
const REAP_SCRIPT =
  "const fs=require('fs'),id='ORCHID_JOB='+process.argv[1];let n=0;" +
  "for(const p of fs.existsSync('/proc')?fs.readdirSync('/proc'):[]){if(!/^\\d+$/.test(p)||+p===process.pid)continue;" +
  "try{if(fs.readFileSync('/proc/'+p+'/environ','latin1').split('\\0').includes(id)){process.kill(+p,'SIGKILL');n++}}catch{}}" +
  "process.stdout.write(n+'\\n')";

/**
 * Kill what is left of job `job` on `host` (its proxy died: the ranks' own watchdogs end them
 * too, this is the second line). Resolves when done, or after the connect timeout + 5 s.
 */
export function reapOverSsh(ssh: string[], host: string, remoteNode: string, job: string): Promise<void> {
  return new Promise((resolve) => {
    const args = sshArgs(ssh, host, ['exec', remoteNode, '-e', REAP_SCRIPT, job]);
    const child = spawn(ssh[0]!, args, { stdio: ['ignore', 'ignore', 'ignore'], detached: true, env: process.env });
    const timer = setTimeout(() => {
      try {
        child.kill('SIGKILL');
      } catch {
        // gone
      }
    }, (connectTimeout() + 5) * 1000);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    child.on('error', done);
    child.on('close', done);
  });
}

/** What `ssh -G HOST` says the host name is (ssh_config aliases resolved); the name itself if ssh cannot say. */
export function sshHostName(host: string, ssh = 'ssh'): Promise<string> {
  const cmd = splitCommand(ssh);
  const bare = host.replace(/^[^@]*@/, '');
  return new Promise((resolve) => {
    execFile(cmd[0]!, [...cmd.slice(1), '-G', host], { timeout: 5000 }, (err, stdout) => {
      if (err) return resolve(bare);
      const m = /^hostname (\S+)$/m.exec(String(stdout));
      resolve(m ? m[1]! : bare);
    });
  });
}

/** The address this machine should advertise so that `host` (as ssh knows it) can reach it. */
export async function addressTowards(host: string, ssh?: string, known?: string): Promise<string> {
  const name = known ?? (await sshHostName(host, ssh));
  let addr: string;
  try {
    addr = isIP(name) ? name : (await lookup(name)).address;
  } catch (e) {
    throw new OrchidError('ERR_ARG', `cannot resolve host ${host}${name !== host ? ` (${name})` : ''}: ${(e as Error).message}; give --iface`, { cause: e });
  }
  try {
    return await sourceAddressFor(addr);
  } catch (e) {
    throw new OrchidError('ERR_ARG', `no route to host ${host} (${addr}): ${(e as Error).message}; give --iface`, { cause: e });
  }
}

export function isLoopback(addr: string): boolean {
  return /^127\./.test(addr) || addr === '::1' || addr === 'localhost';
}
