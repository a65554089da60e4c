// MPMD test: a worker section. Answers the master's task and reports about itself.
import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { init } from 'orchid-mpi';

if (process.env.ORCHID_JOB === undefined) process.exit(0);

const world = await init();
const me = {
  rank: world.rank,
  role: 'worker',
  args: process.argv.slice(2),
  host: hostname(),
  appnum: process.env.ORCHID_APPNUM,
  env: { G: process.env.OT_G, L: process.env.OT_L, X: process.env.OT_X },
  cpus: /^Cpus_allowed_list:\s*(.*)$/m.exec(readFileSync('/proc/self/status', 'utf8'))[1],
};
const { task } = await world.recv(0, 1);
await world.send({ from: world.rank, result: task + world.rank }, 0, 2);
console.log(`worker ${world.rank} done`);
console.error(`worker ${world.rank} stderr`);
await world.gather(me, 0);
await world.finalize();
