// What this rank is waiting for: every call the Comm layer hands to its transport is
// registered here until it settles (track() wraps a CommBackend: the one choke point), and
// finalize() marks the rank as finalizing. orchidrun asks for it over the launcher pipe on
// --timeout, Ctrl-C and SIGQUIT (src/rank/launcher-pipe.ts) and prints one line per rank.
import type { CommBackend } from './comm-backend.js';
import { ANY_SOURCE, ANY_TAG } from './wildcards.js';

interface Pending {
  what: string;
  since: number;
}

const pending = new Map<number, Pending>();
let nextId = 0;
let finalizingSince: number | undefined;

function watch<T>(what: string, p: Promise<T>): Promise<T> {
  const id = nextId++;
  pending.set(id, { what, since: Date.now() });
  const done = (): void => {
    pending.delete(id);
  };
  p.then(done, done);
  return p;
}

const src = (s: number): string => (s === ANY_SOURCE ? 'any source' : `source ${s}`);
const tg = (t: number): string => (t === ANY_TAG ? 'any tag' : `tag ${t}`);

/** `be` with every waiting call registered while it is pending. */
export function track(be: CommBackend): CommBackend {
  const world = Number(process.env.ORCHID_SIZE ?? process.env.PMI_SIZE ?? be.size);
  const on = be.size === world ? '' : ` on a communicator of ${be.size}`;
  const w = <T>(what: string, p: Promise<T>): Promise<T> => watch(what + on, p);
  return {
    rank: be.rank,
    size: be.size,
    hostname: be.hostname,
    tagUb: be.tagUb,
    send: (pkt, dest, tag, call) => w(`${call}(dest ${dest}, ${tg(tag)})`, be.send(pkt, dest, tag, call)),
    recv: (source, tag, call, into) => w(`${call}(${src(source)}, ${tg(tag)})`, be.recv(source, tag, call, into)),
    probe: (source, tag, call) => w(`${call}(${src(source)}, ${tg(tag)})`, be.probe(source, tag, call)),
    iprobe: (source, tag) => be.iprobe(source, tag),
    barrier: (call) => w('barrier()', be.barrier(call)),
    bcast: (root, prepare, check) => w(`bcast(root ${root})`, be.bcast(root, prepare, check)),
    scatter: (root, prepare, check) => w(`scatter(root ${root})`, be.scatter(root, prepare, check)),
    gather: (value, root, all, call, check) => w(all ? `${call}()` : `${call}(root ${root})`, be.gather(value, root, all, call, check)),
    alltoall: (parts, check) => w('alltoall()', be.alltoall(parts, check)),
    reduce: (kind, value, r, root, check) =>
      w(kind === 'reduce' ? `reduce(root ${root})` : `${kind}()`, be.reduce(kind, value, r, root, check)),
    split: (color, key, shared, call) => w(`${call}()`, be.split(color, key, shared, call)),
  };
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
    .map((c) => `${c.what} for ${secs(c.since, now)}`)
    .join('; ');
  if (calls.length > MAX) list += `; … and ${calls.length - MAX} more`;
  if (finalizingSince !== undefined) return `in finalize for ${secs(finalizingSince, now)}${list ? ` (${list})` : ''}`;
  return list || 'running (no pending call)';
}
