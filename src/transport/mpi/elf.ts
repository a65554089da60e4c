// The machine an ELF file is built for (its header's e_machine), set against the architecture
// this node runs on: an addon from another architecture (a build/ directory copied from an
// x86 head node to an arm64 board, an x86 compiler used on the board) is refused by name,
// not by the dynamic loader's terse "cannot open shared object file" or "wrong ELF class".
import { closeSync, openSync, readSync } from 'node:fs';

/** ELF e_machine codes of the architectures Node runs on, by node's process.arch. */
const MACHINES: Record<string, { code: number; name: string }> = {
  x64: { code: 62, name: 'x86-64' },
  arm64: { code: 183, name: 'aarch64' },
  arm: { code: 40, name: '32-bit ARM' },
  ia32: { code: 3, name: '32-bit x86' },
  riscv64: { code: 243, name: 'RISC-V' },
  ppc64: { code: 21, name: '64-bit PowerPC' },
  s390x: { code: 22, name: 's390x' },
  loong64: { code: 258, name: 'LoongArch' },
};

/** A machine in words: "aarch64", "x86-64", or the code for one not listed. */
export function machineName(code: number): string {
  return Object.values(MACHINES).find((m) => m.code === code)?.name ?? `ELF machine ${code}`;
}

/** The e_machine of the ELF file at `path`; undefined when it is not an ELF file or cannot be read. */
export function elfMachine(path: string): number | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(20);
    if (readSync(fd, head, 0, 20, 0) < 20) return undefined;
    if (head.readUInt32BE(0) !== 0x7f454c46) return undefined; // "\x7fELF"
    // EI_DATA (byte 5): 1 little-endian, 2 big-endian; e_machine is a u16 at 18 in that order
    return head[5] === 2 ? head.readUInt16BE(18) : head.readUInt16LE(18);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Why the ELF file at `path` cannot run in this process (`arch`: node's process.arch), e.g.
 * "it is built for x86-64, but this node runs on arm64 (aarch64)"; undefined when it can, or
 * when that cannot be told (not an ELF file, an architecture not listed here).
 */
export function archMismatch(path: string, arch: string = process.arch): string | undefined {
  const got = elfMachine(path);
  const want = MACHINES[arch];
  if (got === undefined || !want || got === want.code) return undefined;
  return `it is built for ${machineName(got)}, but this node runs on ${arch} (${want.name})`;
}
