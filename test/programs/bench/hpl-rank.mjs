// Rank program for test/hpl.test.mjs: HPL runs, one JSON line per run from rank 0 with
// every rank's result (so the test can see that all ranks agree).
// argv[2]: JSON array of { n, nb?, seed?, perturb?, returnX? }
import { init } from 'orchid-mpi';
import { hplRun } from '../../../dist/bench/hpl.js';

// `node --test test/` also runs every .mjs under test/ as a test file: nothing to do then.
if (process.argv[2] === undefined) process.exit(0);

const specs = JSON.parse(process.argv[2]);
const world = await init();
for (const { n, ...opts } of specs) {
  const r = await hplRun(world, n, opts);
  const mine = { ...r, rank: world.rank, x: r.x ? Array.from(r.x) : undefined };
  const all = await world.gather(mine, 0);
  if (world.rank === 0) console.log(JSON.stringify({ size: world.size, spec: { n, ...opts }, results: all }));
}
await world.finalize();
