// A one-rank job that proves a transport works: init, a barrier, finalize.
import { init } from '../index.js';

const world = await init();
await world.barrier();
process.stdout.write(`transport ${process.env.ORCHID_TRANSPORT ?? 'unknown'} ok\n`);
await world.finalize();
