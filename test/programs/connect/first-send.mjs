// Rank program for test/connect.test.mjs: rank 0 sends its clock to rank 1 and then computes
// (a synchronous loop) for 1.5 s; rank 1 prints how long after the send the message arrived.
// With connections opened lazily the message waited for rank 0's event loop.
import { init } from 'orchid-mpi';

if (process.env.ORCHID_RANK === undefined) process.exit(0);

const world = await init();
if (world.rank === 0) {
  await world.send({ t: Date.now() }, 1);
  const end = Date.now() + 1500;
  while (Date.now() < end);
} else if (world.rank === 1) {
  const m = await world.recv(0);
  console.log(`delay ${Date.now() - m.t}`);
}
await world.finalize();
