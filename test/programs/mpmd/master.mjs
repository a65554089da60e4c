// MPMD test: the master section (orchidrun -n 1 master.mjs : -n 3 worker.mjs). Sends each
// worker a task, collects the answers, and prints what every rank reported about itself.
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { init } from 'orchid-mpi';

// `node --test test/` also runs every .mjs under test/ as a test file: nothing to do then.
if (process.env.ORCHID_JOB === undefined) process.exit(0);

const world = await init();
const me = {
  rank: world.rank,
  role: 'master',
  args: process.argv.slice(2),
  host: hostname(),
  appnum: process.env.ORCHID_APPNUM,
  env: { G: process.env.OT_G, L: process.env.OT_L, X: process.env.OT_X },
  cpus: /^Cpus_allowed_list:\s*(.*)$/m.exec(readFileSync('/proc/self/status', 'utf8'))[1],
};
for (let r = 1; r < world.size; r++) await world.send({ task: r * 10 }, r, 1);
const answers = [];
for (let r = 1; r < world.size; r++) answers.push(await world.recv(r, 2));
const all = await world.gather(me, 0);
console.log(`MPMD ${JSON.stringify({ size: world.size, answers, all })}`);
await world.finalize();
