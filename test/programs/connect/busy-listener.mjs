// Rank program for test/connect.test.mjs, with lazy connections (ORCHID_EAGER_CONNECT=0):
// rank 1 computes synchronously for 7 s (longer than the 5 s auth deadline) right after init
// while rank 0 connects to it to send; the connection must survive rank 1's blocked event loop.
import { init } from 'orchid-mpi';

if (process.env.ORCHID_RANK === undefined) process.exit(0);

const world = await init();
if (world.rank === 0) {
  await world.send('hello while you compute', 1);
  console.log(`rank 0 got ${await world.recv(1)}`);
} else if (world.rank === 1) {
  const end = Date.now() + 7000;
  while (Date.now() < end);
  const m = await world.recv(0);
  await world.send('done', 0);
  console.log(`rank 1 got ${m}`);
}
await world.finalize();
