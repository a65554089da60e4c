// Rank program for the srun-direct test: started by `srun --mpi=pmi2 -n N node allreduce.mjs`
// (no orchidrun), it joins over the mpi transport and prints what rank 0 sees after an allreduce.
import { readFileSync } from 'node:fs';
import { init } from 'orchid-mpi';

// `node --test test/` also runs every .mjs under test/ as a test file: nothing to do then.
if (process.env.SLURM_PROCID === undefined) process.exit(0);

const world = await init();
const sum = await world.allreduce(world.rank + 1, 'sum');
const all = await world.allgather({ rank: world.rank, size: world.size, procid: Number(process.env.SLURM_PROCID), libmpi: /libmpi/.test(readFileSync('/proc/self/maps', 'utf8')) });
if (world.rank === 0) console.log(`ALLREDUCE ${JSON.stringify({ sum, all })}`);
await world.finalize();
