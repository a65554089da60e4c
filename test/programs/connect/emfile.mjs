// Rank program for test/connect.test.mjs, run with a low `ulimit -n` and lazy connections
// (ORCHID_EAGER_CONNECT=0): rank 0 opens files until open() fails with EMFILE, then sends to
// rank 1, to which it has no connection yet, so the connect fails with EMFILE.
//   argv[2] = 'free':  after 1 s rank 0 closes the files; the message must arrive, and the reply.
//   argv[2] = 'never': the files stay open; the job must fail naming EMFILE.
import { closeSync, openSync } from 'node:fs';
import { init } from 'orchid-mpi';

if (process.env.ORCHID_RANK === undefined) process.exit(0);

const mode = process.argv[2];
const world = await init();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
if (world.rank === 0) {
  const fds = [];
  for (;;) {
    try {
      fds.push(openSync('/dev/null', 'r'));
    } catch (e) {
      if (e.code !== 'EMFILE') throw e;
      break;
    }
  }
  console.log(`rank 0 holds ${fds.length} files`);
  await world.send({ hello: 'from 0', n: 42 }, 1, 7);
  console.log('rank 0 sent');
  if (mode === 'free') {
    await sleep(1000);
    for (const fd of fds) closeSync(fd);
    console.log('rank 0 freed its files');
    const back = await world.recv(1, 8);
    console.log(`rank 0 got ${JSON.stringify(back)}`);
  } else {
    await sleep(60_000);
  }
} else if (world.rank === 1) {
  const m = await world.recv(0, 7);
  console.log(`rank 1 got ${JSON.stringify(m)}`);
  await world.send({ ack: m.n }, 0, 8);
}
await world.finalize();
