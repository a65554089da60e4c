// What this rank is waiting for: every call the Comm layer hands to its transport is
// registered here until it settles (track() wraps a CommBackend: the one choke point), and
// finalize() marks the rank as finalizing. orchidrun asks for it over the launcher pipe on
// --timeout, Ctrl-C and SIGQUIT (src/rank/launcher-pipe.ts) and prints one line per rank.
import { backendFields, type CommBackend } from './comm-backend.js';
import { ANY_SOURCE, ANY_TAG } from './wildcards.js';

/**
 * One waiting call, kept as its parts: the text is made only when a report asks for it (the
 * hot path of a send or receive pays for a record, not for a string).
 */
interface Pending {
  call: string;
  /** 0: no arguments, 1: (dest, tag), 2: (source, tag), 3: (root) */
  args: 0 | 1 | 2 | 3;
  a: number;
  b: number;
  /** ` on a communicator of N` or '' */
  on: string;
  since: number;
}

const pending = new Map<number, Pending>();
let nextId = 0;
let finalizingSince: number | undefined;

function watch<T>(p: Promise<T>, call: string, args: Pending['args'], a: number, b: number, on: string): Promise<T> {
  const id = nextId++;
  pending.set(id, { call, args, a, b, on, since: Date.now() });
  const done = (): void => {
    pending.delete(id);
  };
  p.then(done, done);
  return p;
}

const src = (s: number): string => (s === ANY_SOURCE ? 'any source' : `source ${s}`);
const tg = (t: number): string => (t === ANY_TAG ? 'any tag' : `tag ${t}`);

function describeCall(c: Pending): string {
  const args = c.args === 1 ? `dest ${c.a}, ${tg(c.b)}` : c.args === 2 ? `${src(c.a)}, ${tg(c.b)}` : c.args === 3 ? `root ${c.a}` : '';
  return `${c.call}(${args})${c.on}`;
}

/**
 * `be` with every waiting call registered while it is pending. A send or receive that the
 * transport finished at once (no promise) was never waiting, so it is not registered.
 */
export function track(be: CommBackend): CommBackend {
  const world = Number(process.env.ORCHID_SIZE ?? process.env.PMI_SIZE ?? be.size);
  const on = be.size === world ? '' : ` on a communicator of ${be.size}`;
  const w = <T>(p: Promise<T>, call: string, args: Pending['args'] = 0, a = 0, b = 0): Promise<T> => watch(p, call, args, a, b, on);
  return {
    ...backendFields(be),
    send: (pkt, dest, tag, call) => {
      const r = be.send(pkt, dest, tag, call);
      return r && w(r, call, 1, dest, tag);
    },
    recv: (source, tag, call, into) => {
      const r = be.recv(source, tag, call, into);
      return r instanceof Promise ? w(r, call, 2, source, tag) : r;
    },
    probe: (source, tag, call) => w(be.probe(source, tag, call), call, 2, source, tag),
    iprobe: (source, tag) => be.iprobe(source, tag),
    barrier: (call) => w(be.barrier(call), 'barrier'),
    bcast: (root, prepare, check) => w(be.bcast(root, prepare, check), 'bcast', 3, root),
    scatter: (root, prepare, check) => w(be.scatter(root, prepare, check), 'scatter', 3, root),
    gather: (value, root, all, call, check) => w(be.gather(value, root, all, call, check), call, all ? 0 : 3, root),
    alltoall: (parts, check, call = 'alltoall') => w(be.alltoall(parts, check, call), call),
    reduce: (kind, value, r, root, check, call = kind) => w(be.reduce(kind, value, r, root, check, call), call, kind === 'reduce' ? 3 : 0, root),
    split: (color, key, shared, call) => w(be.split(color, key, shared, call), call),
  };
}

/** The calls waiting now, each described and how long it has waited (ms): orchidrun --live. */
export function pendingCalls(now = Date.now()): Array<{ call: string; ms: number }> {
  const out = [...pending.values()].map((c) => ({ call: describeCall(c), ms: now - c.since }));
  if (finalizingSince !== undefined) out.unshift({ call: 'finalize', ms: now - finalizingSince });
  return out;
}

/** finalize() was called on this rank. */
export function markFinalizing(): void {
  finalizingSince ??= Date.now();
}

const secs = (since: number, now: number): string => `${((now - since) / 1000).toFixed(1)} s`;

/** One line: `recv(source 2, tag 5) for 6.0 s`, `in finalize (barrier() for 1.0 s)`, `running (no pending call)`. */
export function describePending(now = Date.now()): string {
  const calls = [...pending.values()];
  const MAX = 8;
  let list = calls
    .slice(0, MAX)
    .map((c) => `${describeCall(c)} for ${secs(c.since, now)}`)
    .join('; ');
  if (calls.length > MAX) list += `; … and ${calls.length - MAX} more`;
  if (finalizingSince !== undefined) return `in finalize for ${secs(finalizingSince, now)}${list ? ` (${list})` : ''}`;
  return list || 'running (no pending call)';
}
