// hello: every rank says who and where it is.
//
//   npx orchidrun -n 4 examples/hello.ts
//   node --import tsx examples/hello.ts        (no launcher: a world of one)
import { init } from 'orchid-mpi';

const world = await init();
console.log(`hello from rank ${world.rank} of ${world.size} on ${world.hostname} (pid ${process.pid})`);

// Everyone agrees on the set of hosts: one allgather.
const hosts = await world.allgather(world.hostname);
if (world.rank === 0) console.log(`${world.size} rank${world.size === 1 ? '' : 's'} on ${new Set(hosts).size} host(s): ${[...new Set(hosts)].join(', ')}`);

await world.finalize();
