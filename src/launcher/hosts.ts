// This machine: which host names mean it (those the fork bootstrap may serve), and which of
// its addresses another host is reached from.
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
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

/** The local address the kernel would use to reach `addr` (a UDP connect: routes only, sends nothing). */
export function sourceAddressFor(addr: string, port = 9): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIP(addr) === 6 ? 'udp6' : 'udp4');
    sock.on('error', (e) => {
      sock.close();
      reject(e);
    });
    sock.connect(port, addr, () => {
      const local = sock.address().address;
      sock.close();
      resolve(local);
    });
  });
}
