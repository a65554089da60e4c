// The cluster chores: `orchid exec` (a shell command on every host at once), `orchid
// ssh-setup` (a key, installed on each host, login proven) and `orchid doctor` (can the
// job run there: ssh, Node, orchid at the same path, addon/MPI, clock, ports). All of them
// reach the hosts the way the launcher does: the system ssh (or --ssh CMD), BatchMode.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { homedir, hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OrchidError } from '../../errors.js';
import { isLocalHost } from '../../launcher/hosts.js';
import { LineSplitter } from '../../launcher/lines.js';
import { addressTowards, connectTimeout, shellQuote, splitCommand } from '../../launcher/ssh.js';
import { parseHostList, readHostfile } from '../../launcher/hostfile.js';
import { version } from '../usage.js';

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export const EXEC_HELP = `Usage: orchid exec [--hosts LIST | -f HOSTFILE] [--ssh CMD] [--timeout S] [--] COMMAND...

Run a shell command on every host at once (over ssh; this host runs it directly).
Each output line is prefixed with its host; a status line per host follows.
Exit status: 0 when the command succeeded everywhere, 1 otherwise, 2 for bad arguments.
`;

export const SSH_SETUP_HELP = `Usage: orchid ssh-setup [--ssh CMD] [-i KEY] HOST... | --hosts LIST | -f HOSTFILE

Passwordless SSH from this host to each HOST: create KEY (default ~/.ssh/id_ed25519,
ed25519, no passphrase) if there is none, install it with ssh-copy-id (which asks for
the password where needed), then prove a login with that key alone (BatchMode).
Exit status: 0 when every host accepts the key, 1 otherwise.
`;

export const DOCTOR_HELP = `Usage: orchid doctor [--ssh CMD] [HOST... | --hosts LIST | -f HOSTFILE]

Check that jobs can run on each host: passwordless SSH, Node.js version, orchid at the
same path and version as here, the MPI addon, the clock offset to this host, and TCP
ports both ways (host -> this host, as ranks reach the coordinator; this host -> host,
as ranks reach each other). Prints a table; exit status 1 when a host has a problem.
Without hosts, checks this host only.
`;

interface ToolArgs {
  hosts: string[];
  ssh: string;
  timeout?: number;
  key?: string;
  rest: string[];
  help: boolean;
}

function usage(message: string): OrchidError {
  return new OrchidError('ERR_ARG', message);
}

/** Parse the options the tools share; positional words go to `rest`. */
function parseToolArgs(argv: readonly string[], opts: { key?: boolean; timeout?: boolean; stopAtCommand?: boolean }): ToolArgs {
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

interface Ran {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * Run `remote` (a shell command line) on `host`: directly when it is this machine, else
 * over ssh. `onLine` sees each output line as it arrives.
 */
function runOn(
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

// ---------------------------------------------------------------- exec

export async function execMain(argv: readonly string[]): Promise<number> {
  const a = parseToolArgs(argv, { timeout: true, stopAtCommand: true });
  if (a.help) {
    process.stdout.write(EXEC_HELP);
    return 0;
  }
  if (a.hosts.length === 0) throw usage('no hosts: give --hosts LIST or -f HOSTFILE');
  if (a.rest.length === 0) throw usage('no command given');
  // like ssh: the words are joined with spaces and the remote shell reads them
  const command = a.rest.join(' ');
  const width = Math.max(...a.hosts.map((h) => h.length));
  const results = await Promise.all(
    a.hosts.map((host) =>
      runOn(host, command, a.ssh, {
        timeoutMs: a.timeout ? a.timeout * 1000 : undefined,
        onLine: (stream, line) => (stream === 'stdout' ? process.stdout : process.stderr).write(`${host.padEnd(width)}: ${line}\n`),
      }),
    ),
  );
  let failed = 0;
  results.forEach((r, i) => {
    const host = a.hosts[i]!;
    const status = r.signal ? `killed by ${r.signal}${a.timeout ? ` (--timeout ${a.timeout})` : ''}` : r.code === 0 ? 'ok' : r.code === 255 && !isLocalHost(host) ? 'ssh failed (exit 255)' : `exit ${r.code}`;
    if (status !== 'ok') failed++;
    process.stderr.write(`orchid exec: ${host.padEnd(width)}  ${status}\n`);
  });
  if (failed) process.stderr.write(`orchid exec: failed on ${failed} of ${results.length} host${results.length === 1 ? '' : 's'}\n`);
  return failed ? 1 : 0;
}

// ---------------------------------------------------------------- ssh-setup

/** The options of an ssh command line that ssh-copy-id understands (-F, -o, -p, -J via -o). */
function copyIdOptions(ssh: string[]): string[] {
  const out: string[] = [];
  for (let i = 1; i < ssh.length; i++) {
    const w = ssh[i]!;
    if ((w === '-F' || w === '-o' || w === '-p') && i + 1 < ssh.length) out.push(w, ssh[++i]!);
    else if (w === '-J' && i + 1 < ssh.length) out.push('-o', `ProxyJump=${ssh[++i]!}`);
    else if (/^-[Fop]./.test(w)) out.push(w.slice(0, 2), w.slice(2));
  }
  return out;
}

export async function sshSetupMain(argv: readonly string[]): Promise<number> {
  const a = parseToolArgs(argv, { key: true });
  if (a.help) {
    process.stdout.write(SSH_SETUP_HELP);
    return 0;
  }
  const hosts = [...new Set([...a.hosts, ...a.rest])];
  if (hosts.length === 0) throw usage('no hosts: give HOST... (or --hosts LIST, -f HOSTFILE)');
  const key = resolve(a.key ?? join(homedir(), '.ssh', 'id_ed25519'));
  const say = (s: string): boolean => process.stdout.write(`orchid ssh-setup: ${s}\n`);
  if (!existsSync(key)) {
    const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${process.env.USER ?? 'orchid'}@${hostname()}`, '-f', key], { stdio: 'inherit' });
    if (r.status !== 0) {
      process.stderr.write(`orchid ssh-setup: ssh-keygen could not create ${key}${r.error ? `: ${r.error.message}` : ''}\n`);
      return 1;
    }
    say(`created the key ${key}`);
  } else if (!existsSync(`${key}.pub`)) {
    const r = spawnSync('ssh-keygen', ['-y', '-f', key], { encoding: 'utf8' });
    if (r.status !== 0) {
      process.stderr.write(`orchid ssh-setup: cannot derive ${key}.pub: ${r.stderr}\n`);
      return 1;
    }
    await import('node:fs').then((fs) => fs.writeFileSync(`${key}.pub`, r.stdout));
  } else say(`using the key ${key}`);
  const ssh = splitCommand(a.ssh);
  // ssh-copy-id keeps its temporary files in ~/.ssh
  await import('node:fs').then((fs) => fs.mkdirSync(join(homedir(), '.ssh'), { recursive: true, mode: 0o700 }));
  let failed = 0;
  for (const host of hosts) {
    if (isLocalHost(host)) {
      say(`${host}: this host, nothing to do`);
      continue;
    }
    // one host at a time: ssh-copy-id may ask for that host's password on the terminal
    const copy = spawnSync('ssh-copy-id', ['-i', `${key}.pub`, ...copyIdOptions(ssh), host], { stdio: ['inherit', 'pipe', 'pipe'], encoding: 'utf8' });
    const tail = `${copy.stdout ?? ''}${copy.stderr ?? ''}`.trim().split('\n').filter((l) => l.trim() && !/^\/usr\/bin\/ssh-copy-id: INFO/.test(l)).slice(-2).join(' | ');
    if (copy.error || copy.status !== 0) {
      failed++;
      process.stderr.write(`orchid ssh-setup: ${host}: ssh-copy-id failed${copy.error ? `: ${copy.error.message}` : ` (exit ${copy.status})`}${tail ? `: ${tail}` : ''}\n`);
      continue;
    }
    // the proof: a login with this key alone, no password possible
    const proof = await runOn(host, 'echo orchid-ssh-ok', a.ssh, { sshExtra: ['-o', 'IdentitiesOnly=yes', '-o', 'PasswordAuthentication=no', '-i', key] });
    if (proof.code === 0 && proof.stdout.includes('orchid-ssh-ok')) say(`${host}: ok, passwordless login with ${key} works`);
    else {
      failed++;
      process.stderr.write(`orchid ssh-setup: ${host}: the key was installed but a login with it failed: ${proof.stderr.trim().split('\n').pop() ?? ''}\n`);
    }
  }
  return failed ? 1 : 0;
}

// ---------------------------------------------------------------- doctor

/** Runs on each host with its node (script on stdin): reports, then checks ports both ways. */
const PROBE = String.raw`
const [root, headHost, headPort] = process.argv.slice(2);
const fs = require('node:fs'), net = require('node:net'), os = require('node:os'), path = require('node:path');
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
const r = { hostname: os.hostname(), node: process.version, arch: process.arch, cores: os.availableParallelism?.() ?? os.cpus().length };
try { r.orchid = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version; } catch { r.orchid = null; }
r.dist = fs.existsSync(path.join(root, 'dist/launcher/proxy.js'));
r.mpiexec = (process.env.PATH || '').split(':').some((d) => d && fs.existsSync(path.join(d, 'mpiexec')));
(async () => {
  try {
    const m = await import(require('node:url').pathToFileURL(path.join(root, 'dist/transport/mpi/addon.js')).href);
    if (m.nativeStatus) {
      const st = m.nativeStatus();
      r.addon = st.available ? 'loaded' : 'no: ' + String(st.reason || 'not built').split('\n')[0].slice(0, 160);
      r.flavor = st.flavor;
    } else {
      const a = m.loadAddon();
      r.addon = a.addon ? 'loaded' : 'no: ' + String(a.error || 'not built').split('\n')[0].slice(0, 160);
    }
  } catch (e) { r.addon = 'no: ' + String(e.message).split('\n')[0].slice(0, 80); }
  r.back = await new Promise((res) => {
    const s = net.connect(Number(headPort), headHost, () => { s.end(); res('ok'); });
    s.on('error', (e) => res(e.code || e.message));
    setTimeout(() => { s.destroy(); res('timeout'); }, 3000);
  });
  const srv = net.createServer((c) => { c.end(); srv.close(); out({ t: 'accepted' }); });
  const local = await new Promise((res) => {
    const u = require('node:dgram').createSocket(net.isIPv6(headHost) ? 'udp6' : 'udp4');
    u.on('error', () => res(undefined));
    u.connect(Number(headPort), headHost, () => { const a = u.address().address; u.close(); res(a); });
  });
  srv.listen(0, local, () => {
    r.now = Date.now();
    out({ t: 'report', ...r, listen: local + ' ' + srv.address().port });
  });
  setTimeout(() => { out({ t: 'no-connection' }); process.exit(0); }, 4000).unref();
})();
`;

interface Row {
  host: string;
  ssh: string;
  node: string;
  orchid: string;
  addon: string;
  clock: string;
  ports: string;
  problems: string[];
  /** Worth knowing, not a problem (exit status stays 0). */
  notes: string[];
}

async function checkHost(host: string, ssh: string, root: string): Promise<Row> {
  const row: Row = { host, ssh: '-', node: '-', orchid: '-', addon: '-', clock: '-', ports: '-', problems: [], notes: [] };
  const local = isLocalHost(host);
  let headAddr: string;
  try {
    headAddr = local ? '127.0.0.1' : await addressTowards(host, ssh);
  } catch (e) {
    row.ssh = 'no';
    row.problems.push((e as Error).message);
    return row;
  }
  // host -> here: a port on this machine that the host must reach
  const server: Server = createServer((c) => c.end());
  await new Promise<void>((r) => server.listen(0, headAddr, () => r()));
  const headPort = (server.address() as { port: number }).port;
  const node = process.env.ORCHID_REMOTE_NODE || process.execPath;
  const remote = `if [ -x ${shellQuote(node)} ]; then exec ${shellQuote(node)} - ${[root, headAddr, String(headPort)].map(shellQuote).join(' ')}; else echo "NO-NODE $(command -v node || echo none)"; fi`;
  let report: Record<string, unknown> | undefined;
  let accepted = false;
  let forward = 'not tried';
  let offset: number | undefined;
  const ran = await runOn(host, remote, ssh, {
    input: PROBE,
    timeoutMs: (connectTimeout() + 15) * 1000,
    onLine: (stream, line) => {
      if (stream !== 'stdout') return;
      if (line.startsWith('NO-NODE')) {
        report = { noNode: line.slice(8) };
        return;
      }
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (m.t === 'report') {
        report = m;
        offset = (m.now as number) - Date.now();
        const [addr, port] = String(m.listen).split(' ');
        // here -> host: what ranks on other hosts do
        const s = connect(Number(port), addr!, () => {
          forward = 'ok';
          s.end();
        });
        s.on('error', (e: NodeJS.ErrnoException) => {
          if (forward !== 'ok') forward = e.code ?? e.message; // a reset after connecting is still a connection
        });
      } else if (m.t === 'accepted') accepted = true;
    },
  });
  server.close();
  if (!local && ran.code === 255 && !report) {
    row.ssh = 'no';
    row.problems.push(`ssh: ${ran.stderr.trim().split('\n').pop() ?? 'exit 255'}`);
    return row;
  }
  row.ssh = local ? 'local' : 'ok';
  if (!report) {
    row.problems.push(`the probe did not run (exit ${ran.code}): ${ran.stderr.trim().split('\n').pop() ?? ''}`);
    return row;
  }
  if (report.noNode !== undefined) {
    row.node = 'missing';
    row.problems.push(`no node at ${node} (node on PATH: ${String(report.noNode)}); set ORCHID_REMOTE_NODE`);
    return row;
  }
  row.node = String(report.node);
  const major = Number(/^v(\d+)\.(\d+)/.exec(row.node)?.[1] ?? 0);
  const minor = Number(/^v(\d+)\.(\d+)/.exec(row.node)?.[2] ?? 0);
  if (major < 20 || (major === 20 && minor < 6)) row.problems.push(`Node ${row.node} is older than 20.6`);
  const mine = version();
  if (report.orchid === null) {
    row.orchid = 'missing';
    row.problems.push(`orchid is not at ${root} on this host`);
  } else {
    row.orchid = String(report.orchid);
    if (report.orchid !== mine) row.problems.push(`orchid ${String(report.orchid)} there, ${mine} here`);
    if (!report.dist) row.problems.push(`orchid at ${root} is not built (no dist/): run npm install there`);
  }
  const loaded = String(report.addon).startsWith('loaded');
  row.addon = `${loaded ? `mpi${report.flavor ? ` (${String(report.flavor)})` : ''}` : 'ws only'}${report.mpiexec ? ', mpiexec' : ''}`;
  if (!loaded) row.notes.push(`the mpi transport is not available (ws serves): ${String(report.addon).replace(/^no: /, '')}`);
  if (offset !== undefined) {
    row.clock = `${offset >= 0 ? '+' : ''}${offset} ms`;
    if (Math.abs(offset) > 1000) row.problems.push(`clock off by ${offset} ms (benchmarks and logs disagree): run NTP`);
  }
  const back = String(report.back);
  if (accepted) forward = 'ok';
  row.ports = `to here ${back}, from here ${forward}`;
  if (back !== 'ok') row.problems.push(`the host cannot reach this host at ${headAddr} (${back}): ranks cannot reach the coordinator (firewall?)`);
  if (forward !== 'ok') row.problems.push(`this host cannot reach a port on the host (${forward}): ranks cannot reach each other (firewall?)`);
  return row;
}

export async function doctorMain(argv: readonly string[]): Promise<number> {
  const a = parseToolArgs(argv, {});
  if (a.help) {
    process.stdout.write(DOCTOR_HELP);
    return 0;
  }
  const hosts = [...new Set([...a.hosts, ...a.rest])];
  if (hosts.length === 0) hosts.push('localhost');
  const rows = await Promise.all(hosts.map((h) => checkHost(h, a.ssh, PACKAGE_ROOT)));
  const cols: [keyof Row, string][] = [
    ['host', 'HOST'], ['ssh', 'SSH'], ['node', 'NODE'], ['orchid', 'ORCHID'], ['addon', 'TRANSPORT'], ['clock', 'CLOCK'], ['ports', 'PORTS'],
  ];
  const cells = rows.map((r) => [...cols.map(([k]) => String(r[k])), r.problems.length ? 'PROBLEM' : 'ok']);
  const head = [...cols.map(([, t]) => t), 'STATUS'];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const fmt = (c: string[]): string => c.map((x, i) => x.padEnd(widths[i]!)).join('  ').trimEnd() + '\n';
  process.stdout.write(`orchid ${version()} at ${PACKAGE_ROOT}, node ${process.version} at ${process.execPath}\n`);
  process.stdout.write(fmt(head));
  for (const c of cells) process.stdout.write(fmt(c));
  let bad = 0;
  for (const r of rows) {
    for (const n of r.notes) process.stdout.write(`${r.host}: note: ${n}\n`);
    for (const p of r.problems) process.stdout.write(`${r.host}: ${p}\n`);
    if (r.problems.length) bad++;
  }
  if (bad) process.stdout.write(`${bad} of ${rows.length} host${rows.length === 1 ? '' : 's'} with problems\n`);
  return bad ? 1 : 0;
}
