// The environment a result was measured in.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { arch, availableParallelism, cpus, hostname, loadavg, release, totalmem, type as osType } from 'node:os';
import { PACKAGE_ROOT } from '../package-root.js';
import { version } from '../cli/usage.js';
import type { Environment } from './schema.js';


export function gitRevision(): string | null {
  if (!existsSync(`${PACKAGE_ROOT}/.git`)) return null;
  try {
    const rev = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: PACKAGE_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: PACKAGE_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return dirty ? `${rev}-dirty` : rev;
  } catch {
    return null;
  }
}

export function baseEnvironment(): Environment {
  const cpu = cpus()[0];
  return {
    hostnames: [hostname()],
    cpuModel: cpu?.model?.trim() || 'unknown',
    cores: availableParallelism(),
    memoryBytes: totalmem(),
    os: `${osType()} ${release()}`,
    arch: arch(),
    node: process.version,
    orchid: { version: version(), git: gitRevision() },
    mpi: null,
    transports: [],
    notes: [],
    loadAverage: { start: Number(loadavg()[0]!.toFixed(2)) },
  };
}
