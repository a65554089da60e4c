// ring: a token goes around the ring of ranks 0 -> 1 -> ... -> size-1 -> 0, LAPS times.
// On the first lap the token records every rank it visits; afterwards it is a counter.
// Rank 0 prints the route and the time per lap and per hop.
//
//   npx orchidrun -n 4 examples/ring.ts [LAPS]       (default 1000 laps)
import { init } from 'orchid-mpi';

const laps = Number(process.argv[2] ?? 1000);
if (!Number.isInteger(laps) || laps < 1) {
  console.error(`usage: ring.ts [LAPS]  (LAPS a positive integer, got ${process.argv[2]})`);
  process.exit(2);
}

const world = await init();
const { rank, size } = world;
const next = (rank + 1) % size;
const prev = (rank - 1 + size) % size;

// Lap 0: the token is the list of ranks it has visited.
if (rank === 0) {
  await world.send([0], next);
  const route = await world.recv<number[]>(prev);
  console.log(`token visited ranks ${route.join(' -> ')} -> 0`);
} else {
  const route = await world.recv<number[]>(prev);
  route.push(rank);
  await world.send(route, next);
}

// Timed laps: the token is a number, incremented at every hop.
await world.barrier();
const t0 = performance.now();
for (let lap = 0; lap < laps; lap++) {
  if (rank === 0) {
    await world.send(lap * size, next);
    const token = await world.recv<number>(prev);
    if (token !== lap * size + size - 1) throw new Error(`lap ${lap}: token ${token}, expected ${lap * size + size - 1}`);
  } else {
    const token = await world.recv<number>(prev);
    await world.send(token + 1, next);
  }
}
const ms = performance.now() - t0;

if (rank === 0) {
  const hops = laps * size;
  console.log(`${laps} laps of ${size} hop${size === 1 ? '' : 's'} in ${ms.toFixed(1)} ms: ` +
    `${((ms * 1000) / laps).toFixed(1)} us per lap, ${((ms * 1000) / hops).toFixed(1)} us per hop`);
}
await world.finalize();
