// Which host names mean "this machine": those the fork bootstrap may serve.
import { hostname, networkInterfaces } from 'node:os';

let localNames: Set<string> | undefined;

function names(): Set<string> {
  if (localNames) return localNames;
  const set = new Set<string>(['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback', '::1']);
  const h = hostname().toLowerCase();
  set.add(h);
  set.add(h.split('.')[0]!);
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) set.add(a.address.toLowerCase());
  }
  localNames = set;
  return set;
}

/** True when `name` (a host name or address, maybe `user@host`) is this machine. */
export function isLocalHost(name: string): boolean {
  const n = name.toLowerCase().replace(/^[^@]*@/, '');
  return names().has(n) || /^127\.\d+\.\d+\.\d+$/.test(n) || n.endsWith('.localhost');
}

/** Key under which host entries that are the same machine are grouped. */
export function hostKey(name: string): string {
  return isLocalHost(name) ? '\0local' : name.toLowerCase();
}
