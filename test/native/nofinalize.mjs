// Ends without finalize(): the job must still end cleanly (exit 0) on every MPI.
import { init } from 'orchid-mpi';
const w = await init();
console.log(`r${w.rank} ${await w.allreduce(1)}`);
