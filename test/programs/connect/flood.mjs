// Rank program for test/connect.test.mjs: a job that keeps communicating while the test floods
// rank 0's port with idle connections. Every rank prints `pid P rank R ready`, then waits for the
// file named by FLOOD_GO (the test creates it once its flood is in place), then runs rounds of a
// ring exchange and an allreduce, checking every answer, and prints `rank R ok ROUNDS`.
import { existsSync } from 'node:fs';
import { init } from 'orchid-mpi';

if (process.env.ORCHID_RANK === undefined) process.exit(0);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const world = await init();
const { rank, size } = world;
console.log(`pid ${process.pid} rank ${rank} ready`);
while (!existsSync(process.env.FLOOD_GO)) await sleep(50);
const rounds = Number(process.argv[2] ?? 20);
for (let i = 0; i < rounds; i++) {
  const right = (rank + 1) % size;
  const left = (rank + size - 1) % size;
  const got = await world.sendrecv({ i, from: rank }, right, left, i, i);
  if (got.i !== i || got.from !== left) throw new Error(`round ${i}: ring got ${JSON.stringify(got)}`);
  const sum = await world.allreduce(rank + i, 'sum');
  const want = (size * (size - 1)) / 2 + size * i;
  if (sum !== want) throw new Error(`round ${i}: allreduce gave ${sum}, not ${want}`);
  await sleep(250);
}
console.log(`rank ${rank} ok ${rounds}`);
await world.finalize();
