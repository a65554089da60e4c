// One rank of the orchid ping-pong: rank 0 sends `size` bytes to rank 1 and waits for them
// back. Prints one JSON line per size on rank 0: { size, iters, usRoundTrip }.
import { init } from 'orchid-mpi';
import { FIRST_WARMUP, SIZES, itersFor, warmupFor } from './pingpong-sizes.mjs';

// PINGPONG_PROF=DIR: each rank writes a CPU profile of its timed loops to DIR (orchidrun passes
// no node flags, and --cpu-prof is not allowed in NODE_OPTIONS).
// PINGPONG_V8FLAGS="--trace-gc": V8 flags for the ranks (same reason).
if (process.env.PINGPONG_V8FLAGS) (await import('node:v8')).setFlagsFromString(process.env.PINGPONG_V8FLAGS);
const prof = process.env.PINGPONG_PROF ? await startProfile() : undefined;

async function startProfile() {
  const { Session } = await import('node:inspector/promises');
  const s = new Session();
  s.connect();
  await s.post('Profiler.setSamplingInterval', { interval: 100 });
  await s.post('Profiler.enable');
  await s.post('Profiler.start');
  return s;
}

const world = await init();
if (world.size !== 2) throw new Error('pingpong needs exactly 2 ranks');
const peer = 1 - world.rank;
const tiny = new Uint8Array(8);
for (let i = 0; i < FIRST_WARMUP; i++) {
  if (world.rank === 0) {
    await world.send(tiny, peer);
    await world.recv(peer);
  } else await world.send(await world.recv(peer), peer);
}
for (const size of SIZES) {
  const buf = new Uint8Array(size).fill(7);
  const iters = itersFor(size);
  const warm = warmupFor(size);
  let t0 = 0n;
  for (let i = 0; i < warm + iters; i++) {
    if (i === warm) t0 = process.hrtime.bigint();
    if (world.rank === 0) {
      await world.send(buf, peer);
      await world.recv(peer);
    } else {
      const got = await world.recv(peer);
      await world.send(got, peer);
    }
  }
  if (world.rank === 0) console.log(JSON.stringify({ size, iters, usRoundTrip: Number(process.hrtime.bigint() - t0) / 1e3 / iters }));
}
if (prof) {
  const { writeFileSync, mkdirSync } = await import('node:fs');
  const { profile } = await prof.post('Profiler.stop');
  mkdirSync(process.env.PINGPONG_PROF, { recursive: true });
  writeFileSync(`${process.env.PINGPONG_PROF}/rank${world.rank}.cpuprofile`, JSON.stringify(profile));
}
await world.finalize();
