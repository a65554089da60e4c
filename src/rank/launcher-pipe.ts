// The launcher pipe: the proxy starts every rank with a pipe on fd ORCHID_SECRET_FD (3) and
// writes the job secret to it, one base64 line, then keeps it open. The rank reads the secret
// and keeps reading: EOF means the proxy is gone, and the rank must not outlive it.
// The pipe also carries JSON lines both ways after the secret: the proxy asks what the rank
// waits for ({"t":"pending?"}), the rank answers ({"t":"pending",...}) and reports its
// uncaught error ({"t":"error",...}) before it dies, for orchidrun's summary line.
import { writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { OrchidError } from '../errors.js';
import { describePending } from '../comm/pending.js';

let link: Socket | undefined;
let secretPromise: Promise<Buffer> | undefined;
let linkEnded = false;
let pipeFd: number | undefined;
const onLinkEnd: Array<() => void> = [];

function openLink(): Socket {
  if (link) return link;
  const fdText = process.env.ORCHID_SECRET_FD;
  if (fdText === undefined || fdText === '') {
    throw new OrchidError('ERR_AUTH', 'readSecret: ORCHID_SECRET_FD is not set (was this rank started by orchidrun?)');
  }
  const fd = Number(fdText);
  if (!Number.isInteger(fd) || fd < 0) throw new OrchidError('ERR_AUTH', `readSecret: ORCHID_SECRET_FD=${fdText} is not a file descriptor`);
  let sock: Socket;
  try {
    sock = new Socket({ fd, readable: true, writable: false });
    pipeFd = fd;
  } catch (e) {
    throw new OrchidError('ERR_AUTH', `readSecret: cannot open fd ${fd} from ORCHID_SECRET_FD: ${(e as Error).message}`, { cause: e });
  }
  sock.on('error', () => {});
  const ended = (): void => {
    if (linkEnded) return;
    linkEnded = true;
    for (const cb of onLinkEnd.splice(0)) cb();
  };
  sock.on('end', ended);
  sock.on('close', ended);
  link = sock;
  return sock;
}

/** The job secret, from the pipe the proxy passed on fd ORCHID_SECRET_FD. */
export function readSecret(): Promise<Buffer> {
  if (secretPromise) return secretPromise;
  secretPromise = new Promise<Buffer>((resolve, reject) => {
    let sock: Socket;
    try {
      sock = openLink();
    } catch (e) {
      reject(e);
      return;
    }
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString('latin1');
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      sock.off('data', onData);
      // Keep reading (queries from the proxy) so EOF is seen, without keeping the rank alive.
      listen(sock, text.slice(nl + 1));
      sock.unref();
      const secret = Buffer.from(text.slice(0, nl), 'base64');
      if (secret.length === 0) reject(new OrchidError('ERR_AUTH', 'readSecret: the launcher sent an empty secret'));
      else resolve(secret);
    };
    sock.on('data', onData);
    onLinkEnd.push(() => reject(new OrchidError('ERR_AUTH', 'readSecret: the launcher pipe closed before the secret arrived')));
  });
  return secretPromise;
}

/** Exit(1) when the launcher pipe reaches EOF (the proxy is gone). Does not keep the rank alive. */
export function watchLauncher(rank: number): void {
  let sock: Socket;
  try {
    sock = openLink();
  } catch {
    return; // not under a launcher: nothing to watch
  }
  const gone = (): void => {
    try {
      process.stderr.write(`orchid: rank ${rank}: launcher is gone, exiting\n`);
    } catch {
      // stderr went with the launcher
    }
    process.exit(1);
  };
  if (linkEnded) {
    gone();
    return;
  }
  onLinkEnd.push(gone);
  if (!secretPromise) listen(sock, '');
  sock.unref();
  startWatchdog(rank);
}

/** Answer the proxy's queries (JSON lines after the secret). */
function listen(sock: Socket, rest: string): void {
  let text = rest;
  const onLine = (line: string): void => {
    let msg: { t?: unknown; id?: unknown };
    try {
      msg = JSON.parse(line) as { t?: unknown; id?: unknown };
    } catch {
      return;
    }
    if (msg.t === 'pending?') report({ t: 'pending', id: msg.id, text: describePending() });
  };
  const onData = (chunk: Buffer | string): void => {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (text.length > 1 << 16) text = text.slice(-4096);
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
      const line = text.slice(0, nl);
      text = text.slice(nl + 1);
      onLine(line);
    }
  };
  sock.on('data', onData);
  if (rest !== '') onData('');
}

/** The launcher pipe's fd when this rank runs under orchidrun's proxy, else undefined. */
function launcherFd(): number | undefined {
  if (pipeFd !== undefined) return pipeFd;
  const fdText = process.env.ORCHID_SECRET_FD;
  if (fdText === undefined || fdText === '' || process.env.ORCHID_RANK === undefined) return undefined;
  const fd = Number(fdText);
  return Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}

/** One JSON line to the proxy, written synchronously (it must get out before the process dies). */
export function report(msg: Record<string, unknown>): void {
  const fd = launcherFd();
  if (fd === undefined) return;
  const buf = Buffer.from(JSON.stringify(msg) + '\n');
  let off = 0;
  for (let tries = 0; off < buf.length && tries < 100; tries++) {
    try {
      off += writeSync(fd, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') return;
    }
  }
}

function firstLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const first = (lines[0] ?? '').slice(0, 500);
  return lines.length > 1 ? `${first} …` : first;
}

/** name, code, message and the first stack frame outside node's own and orchid's code. */
export function describeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) {
    let text: string;
    try {
      text = typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err));
    } catch {
      text = String(err);
    }
    return { name: `${typeof err} (not an Error)`, message: firstLine(text) };
  }
  const e = err as Error & { code?: unknown };
  const frames = (e.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
  const user = frames.find((l) => !/node:internal|\(node:|\/node_modules\/|\/dist\/(comm|rank|transport|launcher|codec)\//.test(l));
  const where = user ? /\(?((?:file:\/\/)?\/[^()\s]+:\d+:\d+)\)?\s*$/.exec(user)?.[1] : undefined;
  return {
    name: e.name,
    ...(typeof e.code === 'string' || typeof e.code === 'number' ? { code: e.code } : {}),
    message: firstLine(String(e.message)),
    ...(where ? { at: where.replace(/^file:\/\//, '') } : {}),
  };
}

// An uncaught error (or unhandled rejection) of a rank under orchidrun: tell the launcher
// what it was before node prints it and exits. The monitor does not change node's handling.
if (launcherFd() !== undefined) {
  process.on('uncaughtExceptionMonitor', (err) => report({ t: 'error', error: describeError(err) }));
}

/**
 * A rank must not outlive its proxy even while its main thread runs a synchronous loop (EOF
 * on the pipe is only seen when the event loop turns): a worker thread watches the parent
 * pid and kills the process when the proxy is gone.
 */
function startWatchdog(rank: number): void {
  const parent = process.ppid;
  if (parent <= 1 || process.env.ORCHID_WATCHDOG === '0') return;
  const code = `
const { workerData: { parent, rank } } = require('node:worker_threads');
const { writeSync } = require('node:fs');
setInterval(() => {
  if (process.ppid === parent) return;
  try { writeSync(2, 'orchid: rank ' + rank + ': its proxy (pid ' + parent + ') is gone, exiting\\n'); } catch {}
  process.kill(process.pid, 'SIGKILL');
}, 250);`;
  try {
    const w = new Worker(code, { eval: true, workerData: { parent, rank }, stdout: false, stderr: false, env: {}, argv: [], execArgv: [] });
    w.on('error', () => {});
    w.unref();
  } catch {
    // no worker threads here: the pipe's EOF still ends the rank when its event loop turns
  }
}
