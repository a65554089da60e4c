// Host lists: MPICH `host:slots` and Open MPI `host slots=N` hostfile lines, and the
// inline `--hosts a,b:2,c` form. A host given without a count has one slot (as in MPICH).
import { readFileSync } from 'node:fs';
import { OrchidError } from '../errors.js';

export interface HostSpec {
  /** Host name or address, as the user wrote it (a `[v6]` address without brackets). */
  name: string;
  /** Slots (ranks to place there before moving on); at least 1. */
  slots: number;
}

// user@host is allowed so a later ssh bootstrap can take it as it is.
const HOST_NAME = /^[A-Za-z0-9_.@%-]+$/;

/** One `host`, `host:slots` or `[v6addr]:slots` token; undefined when malformed. */
export function parseHostToken(token: string): HostSpec | undefined {
  let name: string;
  let slotsText: string | undefined;
  const v6 = /^\[([0-9A-Fa-f:.%]+)\](?::(.*))?$/.exec(token);
  if (v6) {
    name = v6[1]!;
    slotsText = v6[2];
  } else if ((token.match(/:/g) ?? []).length > 1) {
    // a bare IPv6 address: no slot count possible
    if (!/^[0-9A-Fa-f:.%]+$/.test(token)) return undefined;
    name = token;
  } else {
    const i = token.indexOf(':');
    name = i < 0 ? token : token.slice(0, i);
    slotsText = i < 0 ? undefined : token.slice(i + 1);
    if (!HOST_NAME.test(name)) return undefined;
  }
  if (name === '') return undefined;
  let slots = 1;
  if (slotsText !== undefined) {
    const n = parseCount(slotsText);
    if (n === undefined) return undefined;
    slots = n;
  }
  return { name, slots };
}

function parseCount(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 && Number.isSafeInteger(n) ? n : undefined;
}

/** Parse hostfile text; `file` names the source in errors (`file:line: …`). */
export function parseHostfileText(text: string, file: string): HostSpec[] {
  const hosts: HostSpec[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const fields = line.split(/\s+/);
    const host = parseHostToken(fields[0]!);
    let ok = host !== undefined;
    for (const field of fields.slice(1)) {
      if (!ok) break;
      // Open MPI: `slots=N`, `max_slots=M` (a cap we do not enforce: MPICH-style oversubscription)
      const kv = /^(slots|max_slots|max-slots|cpu|cpus)=(.*)$/.exec(field);
      const n = kv ? parseCount(kv[2]!) : undefined;
      if (!kv || n === undefined) ok = false;
      else if (kv[1] === 'slots' || kv[1] === 'cpu' || kv[1] === 'cpus') host!.slots = n;
    }
    if (!ok) {
      throw new OrchidError(
        'ERR_ARG',
        `${file}:${i + 1}: bad hostfile line ${JSON.stringify(raw.trim())} (expected "host", "host:slots" or "host slots=N")`,
      );
    }
    hosts.push(host!);
  }
  if (hosts.length === 0) throw new OrchidError('ERR_ARG', `${file}: the hostfile lists no hosts`);
  return hosts;
}

/** Read and parse a hostfile. */
export function readHostfile(file: string): HostSpec[] {
  return parseHostfileText(readArgFile(file, (why) => `cannot read hostfile ${file}: ${why}`), file);
}

/** A file named on the command line (hostfile, -configfile), or ERR_ARG with `message(why)`. */
export function readArgFile(file: string, message: (why: string) => string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String((e as Error).message);
    throw new OrchidError('ERR_ARG', message(why));
  }
}

/** Parse the inline `a,b:2,c` form. */
export function parseHostList(list: string, what = '--hosts'): HostSpec[] {
  const hosts: HostSpec[] = [];
  for (const token of list.split(',')) {
    const t = token.trim();
    const host = t === '' ? undefined : parseHostToken(t);
    if (!host) throw new OrchidError('ERR_ARG', `${what}: bad host entry ${JSON.stringify(t)} (expected host or host:slots)`);
    hosts.push(host);
  }
  return hosts;
}
