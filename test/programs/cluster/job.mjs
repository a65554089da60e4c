// Rank program for the emulated-cluster tests (a real job: calls init()). Mode in argv[2].
import { hostname } from 'node:os';
import { init } from 'orchid-mpi';

const [mode = 'where'] = process.argv.slice(2);
// `node --test test/` also runs every .mjs under test/ as a test file: nothing to do then.
if (process.env.ORCHID_RANK === undefined) process.exit(0);

const world = await init();
const me = { rank: world.rank, host: hostname(), world: world.hostname, addr: process.env.ORCHID_ADDR, pid: process.pid, ppid: process.ppid };
switch (mode) {
  case 'where': {
    // where every rank runs, as rank 0 sees it after a real exchange
    const all = await world.allgather(me);
    if (world.rank === 0) console.log(`WHERE ${JSON.stringify(all)}`);
    break;
  }
  case 'wait': {
    // every rank prints where it is, then blocks in a receive from its right neighbour
    await world.barrier();
    console.log(`WAIT ${JSON.stringify(me)}`);
    try {
      await world.recv((world.rank + 1) % world.size, 7);
    } catch (e) {
      console.log(`ERROR rank ${world.rank} ${e.code}: ${e.message}`);
      process.exit(1);
    }
    break;
  }
  case 'traffic': {
    // keep messages flowing around the ring until killed
    console.log(`WAIT ${JSON.stringify(me)}`);
    const buf = new Float64Array(1 << 14);
    try {
      for (;;) await world.sendrecv(buf, (world.rank + 1) % world.size, (world.rank + world.size - 1) % world.size);
    } catch (e) {
      console.log(`ERROR rank ${world.rank} ${e.code}: ${e.message}`);
      process.exit(1);
    }
  }
}
await world.finalize();
