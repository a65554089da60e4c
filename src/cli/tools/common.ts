// What the cluster chores (exec, ssh-setup, doctor) share: their options (hosts, --ssh,
// --timeout, -i) and running a shell command on a host the way the launcher reaches it:
// the system ssh (or --ssh CMD) in BatchMode, or directly on this host.
import { spawn } from 'node:child_process';
import { OrchidError } from '../../errors.js';
import { parseHostList, readHostfile } from '../../launcher/hostfile.js';
import { isLocalHost } from '../../launcher/hosts.js';
import { LineSplitter } from '../../launcher/lines.js';
import { connectTimeout, splitCommand } from '../../launcher/ssh.js';

export interface ToolArgs {
  hosts: string[];
  ssh: string;
  timeout?: number;
  key?: string;
  rest: string[];
  help: boolean;
}

export function usage(message: string): OrchidError {
  return new OrchidError('ERR_ARG', message);
}

/** Parse the options the tools share; positional words go to `rest`. */
export function parseToolArgs(argv: readonly string[], opts: { key?: boolean; timeout?: boolean; stopAtCommand?: boolean }): ToolArgs {
  const out: ToolArgs = { hosts: [], ssh: process.env.ORCHID_SSH ?? 'ssh', rest: [], help: false };
  let i = 0;
  const value = (name: string): string => {
    if (i + 1 >= argv.length) throw usage(`option ${name} needs a value`);
    return argv[++i]!;
  };
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      out.rest.push(...argv.slice(i + 1));
      break;
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    const inline = eq > 0 ? a.slice(eq + 1) : undefined;
    const take = (): string => inline ?? value(name);
    if (name === '-h' || name === '--help') out.help = true;
    else if (name === '--hosts' || name === '-hosts') out.hosts.push(...parseHostList(take(), '--hosts').map((h) => h.name));
    else if (name === '-f' || name === '--hostfile' || name === '-hostfile') out.hosts.push(...readHostfile(take()).map((h) => h.name));
    else if (name === '--ssh') {
      out.ssh = take();
      splitCommand(out.ssh);
    } else if (opts.timeout && name === '--timeout') {
      const s = Number(take());
      if (!(s > 0)) throw usage(`--timeout must be a positive number of seconds`);
      out.timeout = s;
    } else if (opts.key && (name === '-i' || name === '--key')) out.key = take();
    else if (a.startsWith('-') && a !== '-') throw usage(`unknown option ${JSON.stringify(a)}`);
    else if (opts.stopAtCommand) {
      out.rest.push(...argv.slice(i));
      break;
    } else out.rest.push(a);
  }
  out.hosts = [...new Set(out.hosts)];
  return out;
}

export interface Ran {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `remote` (a shell command line) on `host`: directly when it is this machine, else
 * over ssh. `onLine` sees each output line as it arrives.
 */
export function runOn(
  host: string,
  remote: string,
  ssh: string,
  o: { input?: string; onLine?: (stream: 'stdout' | 'stderr', line: string) => void; timeoutMs?: number; sshExtra?: string[] } = {},
): Promise<Ran> {
  const local = isLocalHost(host);
  const cmd = splitCommand(ssh);
  const child = local
    ? spawn('sh', ['-c', remote], { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(cmd[0]!, [...cmd.slice(1), ...(o.sshExtra ?? []), '-T', '-o', 'BatchMode=yes', '-o', `ConnectTimeout=${connectTimeout()}`, host, '--', remote], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
  return new Promise((resolvePromise) => {
    const res: Ran = { code: 0, signal: null, stdout: '', stderr: '' };
    for (const stream of ['stdout', 'stderr'] as const) {
      const lines = new LineSplitter((b) => {
        const line = b.toString('utf8');
        res[stream] += line + '\n';
        o.onLine?.(stream, line);
      });
      child[stream].on('data', (d: Buffer) => lines.push(d));
      child[stream].on('end', () => lines.flush());
    }
    child.stdin.on('error', () => {});
    child.stdin.end(o.input ?? '');
    const timer = o.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), o.timeoutMs) : undefined;
    child.on('error', (e) => {
      res.code = 127;
      res.stderr += `${e.message}\n`;
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      res.code = code ?? 128;
      res.signal = signal;
      resolvePromise(res);
    });
  });
}
