// Every rank prints its pid, then waits forever (for kill tests).
import { init } from 'orchid-mpi';
const w = await init();
console.log(`up ${w.rank} ${process.pid}`);
setInterval(() => {}, 1000);
await w.barrier();
await new Promise(() => {});
