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
  case 'spin': {
    // every rank says where it is, then runs a synchronous loop for SECONDS (argv[3]): its
    // event loop does not turn (first a moment for the barrier's last messages to leave)
    await world.barrier();
    await new Promise((r) => setTimeout(r, 500));
    console.log(`WAIT ${JSON.stringify(me)}`);
    const end = Date.now() + Number(process.argv[3] ?? 60) * 1000;
    while (Date.now() < end);
    break;
  }
  case 'traffic': {
    // keep messages flowing around the ring until killed
    console.log(`WAIT ${JSON.stringify(me)}`);
    const buf = new Float64Array(1 << 14);
    try {
      for (let round = 0; ; round++) {
        await world.sendrecv(buf, (world.rank + 1) % world.size, (world.rank + world.size - 1) % world.size);
        if (round === 0) console.log(`FLOWING ${world.rank}`);
      }
    } catch (e) {
      console.log(`ERROR rank ${world.rank} ${e.code}: ${e.message}`);
      process.exit(1);
    }
  }
  case 'work': {
    // collectives and point-to-point for about SECONDS (argv[3], default 4), then a checksum
    console.log(`WAIT ${JSON.stringify(me)}`);
    const seconds = Number(process.argv[3] ?? 4);
    const t0 = Date.now();
    let rounds = 0;
    let sum = 0;
    for (;;) {
      const v = await world.allreduce(new Float64Array(1024).fill(world.rank + 1));
      sum += v[0];
      const right = (world.rank + 1) % world.size;
      const left = (world.rank + world.size - 1) % world.size;
      const got = await world.sendrecv({ round: rounds, from: world.rank }, right, left);
      if (got.from !== left || got.round !== rounds) throw new Error(`round ${rounds}: got ${JSON.stringify(got)}`);
      rounds++;
      const stop = await world.bcast(world.rank === 0 ? Date.now() - t0 > seconds * 1000 : undefined);
      if (stop) break;
    }
    const n = world.size;
    if (sum !== rounds * (n * (n + 1)) / 2) throw new Error(`checksum ${sum} after ${rounds} rounds`);
    if (world.rank === 0) console.log(`WORKED ${rounds} rounds`);
    break;
  }
}
await world.finalize();
