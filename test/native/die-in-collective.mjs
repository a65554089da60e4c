// Rank 1 dies (exit 7, or SIGKILL with DIE=kill) while the other ranks are inside an MPI collective.
import { init } from 'orchid-mpi';
const w = await init();
await w.barrier();
if (w.rank === 1) {
  // DIE=never: rank 1 just never joins (for --timeout)
  if (process.env.DIE !== 'never') setTimeout(() => (process.env.DIE === 'kill' ? process.kill(process.pid, 'SIGKILL') : process.exit(7)), 300);
  setInterval(() => {}, 1000);
  await new Promise(() => {});
}
console.log(`rank ${w.rank} entering allreduce`);
await w.allreduce(new Float64Array(1 << 16).fill(1), 'sum');
console.log(`rank ${w.rank} left allreduce (should not happen)`);
