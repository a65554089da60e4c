#!/usr/bin/env node
// `npm install` hook: build the native MPI addon with node-gyp when an MPI is found
// (pkg-config mpich / ompi, or mpicc -show; ORCHID_MPI=mpich|openmpi picks one). Never
// fails the install: without MPI, or when the build fails, it prints one line saying the
// native transport was skipped and how to get it, and the ws transport serves.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findMpi } from './mpi-flags.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const HOW = 'install MPICH (Debian/Ubuntu: apt-get install mpich libmpich-dev; Arch: pacman -S mpich) or Open MPI, then run `npm rebuild orchid-mpi`';
// why the build was skipped, for `orchid doctor` and --transport mpi (src/transport/mpi/addon.ts)
const NOTE = join(root, 'build', 'native-skipped.txt');
const skip = (why, how = HOW) => {
  console.log(`orchid-mpi: native MPI transport skipped (${why}); the ws transport will be used. To get it: ${how}.`);
  try {
    mkdirSync(dirname(NOTE), { recursive: true });
    writeFileSync(NOTE, `${why}; to get it: ${how}\n`);
  } catch {
    /* the note is a courtesy */
  }
  process.exit(0);
};
try {
  rmSync(NOTE, { force: true });
} catch {
  /* not there */
}

if (process.env.ORCHID_SKIP_NATIVE === '1') skip('ORCHID_SKIP_NATIVE=1');
const mpi = findMpi();
if (!mpi) skip('no MPI found: pkg-config knows neither mpich nor ompi and there is no mpicc on PATH');

function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return [process.execPath, process.env.npm_config_node_gyp];
  const bundled = join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  if (existsSync(bundled)) return [process.execPath, bundled];
  return ['node-gyp'];
}

// node-gyp's make runs $CXX (g++ by default): it must build for the machine this node runs on
// (under emulation, or with a cross compiler as CXX, it would not: the addon would never load)
const TRIPLETS = { x64: /^x86_64-/, arm64: /^aarch64-/, arm: /^arm/, ia32: /^i[3-6]86-/, riscv64: /^riscv64-/, ppc64: /^powerpc64/, s390x: /^s390x-/, loong64: /^loongarch64-/ };
const cxx = process.env.CXX || 'g++';
const dump = spawnSync('/bin/sh', ['-c', `${cxx} -dumpmachine`], { encoding: 'utf8' });
const COMPILER = 'Debian/Ubuntu/Armbian: apt-get install g++ make python3; Arch Linux ARM: pacman -S base-devel python';
if (dump.status !== 0 || !dump.stdout.trim()) skip(`no C++ compiler: \`${cxx}\` does not run`, `install one (${COMPILER}), then run \`npm rebuild orchid-mpi\``);
const target = dump.stdout.trim();
if (TRIPLETS[process.arch] && !TRIPLETS[process.arch].test(target))
  skip(`the C++ compiler \`${cxx}\` builds for ${target}, not for this node's ${process.arch}: the addon would not load`, `install the native compiler of this machine (${COMPILER}) or set CXX to it, then run \`npm rebuild orchid-mpi\``);

const [cmd, ...pre] = nodeGyp();
const args = [...pre, 'rebuild'];
// build offline against the headers of the running Node when they are installed with it
const headers = join(dirname(process.execPath), '../include/node/node_api.h');
if (!process.env.npm_config_nodedir && existsSync(headers)) args.push(`--nodedir=${join(dirname(process.execPath), '..')}`);
const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', env: process.env });
const log = join(root, 'build', 'native-build.log');
try {
  mkdirSync(dirname(log), { recursive: true });
  writeFileSync(log, `${cmd} ${args.join(' ')}\n${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`);
} catch {
  /* the log is a courtesy */
}
if (r.status !== 0 || !existsSync(join(root, 'build/Release/orchid_mpi.node')))
  skip(`building the addon against ${mpi.source} failed, see ${log}`);
console.log(`orchid-mpi: native MPI transport built against ${mpi.flavor === 'openmpi' ? 'Open MPI' : 'MPICH'} (${mpi.source})`);
