// The per-host proxy (`node dist/launcher/proxy.js`), Hydra's pmi_proxy in spirit: it
// reads control lines on stdin, starts this host's ranks, and reports on stdout. When its
// stdin closes (launcher gone, even by SIGKILL, or the ssh session dropped) it kills every
// rank it started and exits.
import { unlinkSync } from 'node:fs';
import { constants, hostname } from 'node:os';
import { join } from 'node:path';
import { sourceAddressFor } from './hosts.js';
import { LineSplitter } from './lines.js';
import type { ControlMessage, HostJobSpec, ProxyEvent } from './protocol.js';
import { RankProcess } from './rank-process.js';
import { parseHostPort } from './coord-proto.js';
import { allowedCpus, assignCores, bindingReport, hostCores, type Core } from './binding.js';
import { findOnPath } from './script.js';

const ranks: RankProcess[] = [];
let spec: HostJobSpec | undefined;
let running = 0;
let finishing = false;
let killTimer: NodeJS.Timeout | undefined;
/** Control lines that arrived while the spec was still being prepared (address lookup). */
let held: ControlMessage[] | undefined;
let lastHeard = Date.now();
/** The job is stopped (Ctrl-Z): the launcher may be stopped too, its silence means nothing. */
let suspended = false;

// Events are batched per tick: one write for many lines keeps a chatty job cheap.
let batch: string[] = [];
let batchBytes = 0;
let flushScheduled = false;
let outputPaused = false;
/** Open `pending?` queries: id -> ranks that have not answered yet. */
const queries = new Map<number, Set<number>>();
// How long a rank has to answer `pending?` from its event loop.
const PENDING_WAIT_MS = 1000;
/** The Unix socket paths this host's ranks listen on (src/transport/ws/mesh.ts), removed when they exit. */
const sockets = new Map<number, string>();

function socketPath(job: string, rank: number, env: NodeJS.ProcessEnv): string {
  // what os.tmpdir() says in the rank's environment
  let dir = env.TMPDIR || env.TMP || env.TEMP || '/tmp';
  if (dir.length > 1 && dir.endsWith('/')) dir = dir.slice(0, -1);
  return join(dir, `orchid-${job.slice(0, 12)}-${rank}.sock`);
}

function removeSocket(rank: number): void {
  const path = sockets.get(rank);
  if (path === undefined) return;
  sockets.delete(rank);
  try {
    unlinkSync(path);
  } catch {
    // never created, or the rank removed it on its way out
  }
}

function askPending(id: number): void {
  const waiting = new Set<number>();
  for (const r of ranks) {
    if (r.exited) continue;
    waiting.add(r.rank);
    r.tell({ t: 'pending?', id });
  }
  queries.set(id, waiting);
  setTimeout(() => {
    queries.delete(id);
    for (const rank of waiting) emit({ t: 'pending', id, rank, text: 'no answer: busy (not in the event loop)' });
  }, PENDING_WAIT_MS).unref();
}

function onReport(rank: number, msg: Record<string, unknown>): void {
  if (msg.t === 'error' && msg.error && typeof msg.error === 'object') {
    emit({ t: 'rank-error', rank, error: msg.error as Record<string, string> });
  } else if (msg.t === 'pending' && typeof msg.id === 'number' && typeof msg.text === 'string') {
    if (queries.get(msg.id)?.delete(rank)) emit({ t: 'pending', id: msg.id, rank, text: msg.text.slice(0, 2000) });
  }
}

function emit(ev: ProxyEvent): void {
  const line = JSON.stringify(ev) + '\n';
  batch.push(line);
  batchBytes += line.length;
  if (batchBytes >= 1 << 20) flush();
  else if (!flushScheduled) {
    flushScheduled = true;
    setImmediate(flush);
  }
}

function flush(cb?: () => void): void {
  flushScheduled = false;
  const text = batch.join('');
  batch = [];
  batchBytes = 0;
  if (text === '') {
    cb?.();
    return;
  }
  try {
    if (!process.stdout.write(text, () => cb?.()) && !outputPaused) {
      // the launcher is behind: stop reading from the ranks until it catches up
      outputPaused = true;
      for (const r of ranks) r.pauseOutput();
      process.stdout.once('drain', () => {
        outputPaused = false;
        for (const r of ranks) r.resumeOutput();
      });
    }
  } catch {
    upstreamGone();
  }
}

function killAll(sig: NodeJS.Signals | string): void {
  for (const r of ranks) r.signal(sig);
}

/** The launcher is gone: nothing may outlive it. */
function upstreamGone(): void {
  killAll('SIGKILL');
  process.exit(1);
}

/** This host's address on the route to `hostPort` (a UDP connect: no packet is sent). */
function addressTowards(hostPort: string): Promise<string> {
  const hp = parseHostPort(hostPort);
  if (!hp) return Promise.reject(new Error(`bad address ${hostPort}`));
  return sourceAddressFor(hp.host, hp.port);
}

async function prepare(s: HostJobSpec): Promise<void> {
  spec = s;
  held = [];
  if (s.heartbeatMs && s.heartbeatTimeoutMs) {
    const limit = s.heartbeatTimeoutMs;
    lastHeard = Date.now();
    let lastTick = Date.now();
    setInterval(() => {
      emit({ t: 'hb' });
      const now = Date.now();
      if (now - lastTick > 2 * s.heartbeatMs!) lastHeard = now; // we were stalled, not the launcher
      lastTick = now;
      // the launcher (or the link to it) is gone, even though the session did not close
      if (!suspended && Date.now() - lastHeard > limit) upstreamGone();
    }, s.heartbeatMs).unref();
  }
  let addr: string | undefined;
  if (s.routeTo) {
    try {
      addr = await addressTowards(s.routeTo);
    } catch (e) {
      emit({ t: 'error', message: `proxy on ${hostname()}: no route to the coordinator at ${s.routeTo}: ${(e as Error).message}` });
    }
    if (addr) s.env = { ...s.env, ORCHID_ADDR: addr };
  }
  start(s, addr);
  const later = held;
  held = undefined;
  for (const m of later) control(m);
}

function start(s: HostJobSpec, addr: string | undefined): void {
  emit({ t: 'ready', host: s.host, pid: process.pid, ...(addr ? { addr } : {}) });
  running = s.ranks.length;
  const binding = bindings(s);
  if (binding.error) {
    // no taskset here: every rank fails to start, naming the host and the fix
    for (const r of s.ranks) emit({ t: 'exit', rank: r.rank, code: 127, signal: null, pid: null, error: `could not be started: ${binding.error}` });
    finish();
    return;
  }
  for (const [i, r] of s.ranks.entries()) {
    const env: NodeJS.ProcessEnv = { ...process.env, ...s.env, ...r.env };
    sockets.set(r.rank, socketPath(s.job, r.rank, env));
    const core = binding.cores?.[i];
    if (s.reportBindings) emit({ t: 'out', rank: r.rank, stream: 'stderr', text: bindingReport(r.rank, core, binding.allowed) });
    ranks.push(
      new RankProcess({
        rank: r.rank,
        script: r.script ?? s.script,
        args: r.args ?? s.args,
        ...(core ? { core } : {}),
        cwd: s.wdir,
        env,
        secret: s.secret,
        stdin: s.stdinRank === r.rank,
        onStarted: (pid) => emit({ t: 'started', rank: r.rank, pid }),
        onOut: (stream, text) => emit({ t: 'out', rank: r.rank, stream, text }),
        onReport: (msg) => onReport(r.rank, msg),
        onExit: (x) => {
          removeSocket(r.rank);
          emit({ t: 'exit', rank: r.rank, code: x.code, signal: x.signal, pid: x.pid, ...(x.error ? { error: x.error } : {}) });
          if (--running === 0) finish();
        },
      }),
    );
  }
  if (running === 0) finish();
}

/** --bind-to core: this host's cores for its ranks, in rank order (binding.ts). */
function bindings(s: HostJobSpec): { allowed: number[]; cores?: Core[]; error?: string } {
  const allowed = allowedCpus();
  if (s.bindTo !== 'core') return { allowed };
  if (!findOnPath('taskset')) return { allowed, error: `--bind-to core needs taskset (util-linux) on host ${hostname()}, and it is not on PATH` };
  const cores = hostCores(allowed.length > 0 ? allowed : [0]);
  return { allowed, cores: assignCores(s.ranks.length, cores) };
}

function finish(): void {
  if (finishing) return;
  finishing = true;
  if (killTimer) clearTimeout(killTimer);
  emit({ t: 'done' });
  flush(() => process.exit(0));
}

function control(msg: ControlMessage): void {
  if (msg.t === 'hb') return;
  if (msg.t === 'spec') {
    if (!spec) void prepare(msg);
    return;
  }
  if (held) {
    held.push(msg);
    return;
  }
  if (!spec) {
    emit({ t: 'error', message: `proxy on ${hostname()}: "${msg.t}" before the job spec` });
    return;
  }
  switch (msg.t) {
    case 'stdin':
      ranks.find((r) => r.rank === spec!.stdinRank)?.writeStdin(Buffer.from(msg.data, 'base64'));
      break;
    case 'stdin-end':
      ranks.find((r) => r.rank === spec!.stdinRank)?.endStdin();
      break;
    case 'signal':
      if (msg.sig === 'SIGTSTP' || msg.sig === 'SIGSTOP') suspended = true;
      else if (msg.sig === 'SIGCONT') {
        suspended = false;
        lastHeard = Date.now();
      }
      // each rank leads its own session, an orphaned process group, where the kernel drops SIGTSTP
      killAll(msg.sig === 'SIGTSTP' ? 'SIGSTOP' : msg.sig);
      break;
    case 'pending?':
      askPending(msg.id);
      break;
    case 'kill': {
      const sig = msg.sig ?? 'SIGTERM';
      killAll(sig);
      if (sig !== 'SIGKILL') {
        if (killTimer) clearTimeout(killTimer);
        killTimer = setTimeout(() => killAll('SIGKILL'), msg.graceMs ?? spec.killGraceMs);
      }
      break;
    }
  }
}

const upstream = new LineSplitter((line) => {
  lastHeard = Date.now();
  let msg: ControlMessage;
  try {
    msg = JSON.parse(line.toString('utf8')) as ControlMessage;
  } catch {
    emit({ t: 'error', message: `proxy on ${hostname()}: bad control line from the launcher` });
    return;
  }
  control(msg);
}, 256 * 1024 * 1024);

process.stdin.on('data', (chunk: Buffer) => upstream.push(chunk));
process.stdin.on('end', upstreamGone);
process.stdin.on('error', upstreamGone);
process.stdout.on('error', upstreamGone);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.on(sig, () => {
    killAll('SIGKILL');
    process.exit(128 + constants.signals[sig]);
  });
}
// Also on a crash of the proxy itself: its ranks must not outlive it.
process.on('exit', () => {
  killAll('SIGKILL');
  for (const rank of [...sockets.keys()]) removeSocket(rank);
});
