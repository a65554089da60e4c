#!/usr/bin/env node
// Find an MPI for the native addon and print its compiler or linker flags for binding.gyp:
//   node native/mpi-flags.mjs --cflags | --include | --libs | --flavor | --json
// Order: ORCHID_MPI (mpich | openmpi | a pkg-config name), then pkg-config `mpich`, `ompi`,
// then `mpicc -show`. Exit status 1 (and nothing printed) when no MPI is found.
import { execFileSync } from 'node:child_process';

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function fromPkgConfig(name) {
  const cflags = run('pkg-config', ['--cflags', name]);
  const libs = run('pkg-config', ['--libs', name]);
  if (cflags === undefined || libs === undefined) return undefined;
  return { source: `pkg-config ${name}`, cflags: cflags.split(/\s+/).filter(Boolean), libs: libs.split(/\s+/).filter(Boolean) };
}

function fromMpicc(cc) {
  const show = run(cc, ['-show']) ?? run(cc, ['-showme']);
  if (!show) return undefined;
  const words = show.split(/\s+/).slice(1);
  return {
    source: `${cc} -show`,
    cflags: words.filter((w) => w.startsWith('-I') || w.startsWith('-D')),
    libs: words.filter((w) => w.startsWith('-L') || w.startsWith('-l') || w.startsWith('-Wl')),
  };
}

export function findMpi(want = process.env.ORCHID_MPI) {
  const pkg = { mpich: 'mpich', openmpi: 'ompi', ompi: 'ompi' };
  const ccs = { mpich: 'mpicc.mpich', openmpi: 'mpicc.openmpi', ompi: 'mpicc.openmpi' };
  let found;
  if (want) found = fromPkgConfig(pkg[want] ?? want) ?? fromMpicc(ccs[want] ?? 'mpicc');
  else found = fromPkgConfig('mpich') ?? fromPkgConfig('ompi') ?? fromMpicc('mpicc');
  if (!found) return undefined;
  const text = [...found.cflags, ...found.libs].join(' ');
  found.flavor = /openmpi|ompi|open-mpi/i.test(text + found.source) ? 'openmpi' : 'mpich';
  return found;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const mpi = findMpi();
  if (!mpi) process.exit(1);
  const what = process.argv[2] ?? '--json';
  const out = {
    '--cflags': mpi.cflags.filter((f) => !f.startsWith('-I')).join(' '),
    '--include': mpi.cflags.filter((f) => f.startsWith('-I')).map((f) => f.slice(2)).join(' '),
    '--libs': mpi.libs.join(' '),
    '--flavor': mpi.flavor,
    '--json': JSON.stringify(mpi),
  }[what];
  process.stdout.write(`${out ?? ''}\n`);
}
