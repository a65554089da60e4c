// Small readers of /proc and /sys files for host/*.ts: they never throw (unreadable → null or
// []), and the cpu directories of the kernel's logical cpus. Paths are under a root directory
// (see ../hostinfo.ts), so tests can point them at a fake tree.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

export function readLine(path: string): string | null {
  const t = readText(path);
  if (t === null) return null;
  const s = t.replace(/\0/g, '').trim();
  return s === '' ? null : s;
}

export function readInt(path: string): number | null {
  const s = readLine(path);
  if (s === null || !/^-?\d+$/.test(s)) return null;
  return Number(s);
}

export function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

export const kHzToMHz = (v: number | null): number | null => (v === null || v <= 0 ? null : Math.round(v / 1000));

export function cpuDir(root: string, cpu: number): string {
  return join(root, 'sys/devices/system/cpu', `cpu${cpu}`);
}

/** Online cpus with a cpuN directory in /sys (cpuN/online = 0 → offline). */
export function sysCpus(root: string): number[] {
  return listDir(join(root, 'sys/devices/system/cpu'))
    .filter((n) => /^cpu\d+$/.test(n))
    .map((n) => Number(n.slice(3)))
    .filter((c) => readInt(join(cpuDir(root, c), 'online')) !== 0)
    .sort((a, b) => a - b);
}
