// The network links of a host: interfaces other than loopback with speed, duplex, state,
// addresses (/sys/class/net, else node:os), and which link carries a given address.
import { existsSync, readlinkSync } from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { listDir, readInt, readLine } from './sysfs.js';

/** A network interface (not loopback). */
export interface LinkInfo {
  /** "eth0" */
  iface: string;
  /** /sys/class/net/<if>/speed as the OS says it (virtual interfaces such as veth say 10000); -1 or unreadable (link down, Wi-Fi) → null */
  speedMbps: number | null;
  /** "full" | "half" | "unknown"; unreadable → null */
  duplex: string | null;
  /** "up" | "down" | "unknown" | "dormant" | … ("unknown" when unreadable) */
  operstate: string;
  /** IPv4 and IPv6 addresses (node:os networkInterfaces()) */
  addresses: string[];
  /** MAC address, null if unreadable */
  mac: string | null;
  /** MTU, null if unreadable */
  mtu: number | null;
  /** a software interface (bridge, veth, tun, ifb…: /sys/devices/virtual/net); null when unknown (non-Linux) */
  virtual: boolean | null;
  /** a Wi-Fi interface (/sys/class/net/<if>/wireless); null when unknown (non-Linux) */
  wireless: boolean | null;
}

export type Ifaces = NodeJS.Dict<os.NetworkInterfaceInfo[]>;

/**
 * Network interfaces other than loopback: /sys/class/net under sysRoot, addresses from
 * `interfaces` (default os.networkInterfaces()). Without /sys/class/net (non-Linux): the
 * non-internal interfaces of node:os, with speed, duplex etc. unknown.
 */
export function readLinks(sysRoot = '/', interfaces: Ifaces = os.networkInterfaces()): LinkInfo[] {
  const base = join(sysRoot, 'sys/class/net');
  const names = listDir(base);
  const addrs = (n: string): string[] => (interfaces[n] ?? []).map((a) => a.address);
  if (names.length === 0) {
    return Object.entries(interfaces)
      .filter(([, list]) => (list ?? []).some((a) => !a.internal))
      .map(([iface, list]) => ({
        iface, speedMbps: null, duplex: null, operstate: 'unknown', addresses: (list ?? []).map((a) => a.address),
        mac: (list ?? []).find((a) => a.mac && a.mac !== '00:00:00:00:00:00')?.mac ?? null, mtu: null, virtual: null, wireless: null,
      }))
      .sort((a, b) => a.iface.localeCompare(b.iface));
  }
  const links: LinkInfo[] = [];
  for (const iface of names.sort()) {
    const d = join(base, iface);
    const type = readInt(join(d, 'type'));
    if (type === 772 || (type === null && iface === 'lo')) continue; // ARPHRD_LOOPBACK
    let speed = readInt(join(d, 'speed'));
    if (speed !== null && (speed < 0 || speed === 65535 || speed === 4294967295)) speed = null; // SPEED_UNKNOWN
    let target = '';
    try {
      target = readlinkSync(d);
    } catch {
      /* not a symlink (fake tree) */
    }
    links.push({
      iface,
      speedMbps: speed,
      duplex: readLine(join(d, 'duplex')),
      operstate: readLine(join(d, 'operstate')) ?? 'unknown',
      addresses: addrs(iface),
      mac: readLine(join(d, 'address')),
      mtu: readInt(join(d, 'mtu')),
      virtual: target.includes('/virtual/') || existsSync(join(sysRoot, 'sys/devices/virtual/net', iface)),
      wireless: existsSync(join(d, 'wireless')) || existsSync(join(d, 'phy80211')),
    });
  }
  return links;
}

function normalizeAddress(a: string): string {
  let s = a.trim().toLowerCase();
  if (s.startsWith('[') && s.includes(']')) s = s.slice(1, s.indexOf(']'));
  s = s.replace(/%.*$/, '').replace(/\/\d+$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  return mapped ? mapped[1]! : s;
}

/**
 * The interface that carries `address` (an IP of this host; "::ffff:10.0.0.2", "[fe80::1%eth0]"
 * and "10.0.0.2/24" are understood) and its speed; null if no link has it.
 */
export function linkRateFor(links: ReadonlyArray<LinkInfo>, address: string): { iface: string; speedMbps: number | null } | null {
  const want = normalizeAddress(address);
  const l = links.find((x) => x.addresses.some((a) => normalizeAddress(a) === want));
  return l ? { iface: l.iface, speedMbps: l.speedMbps } : null;
}
