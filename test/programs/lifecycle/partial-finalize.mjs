// Only some ranks call finalize(): rank 1 ends without it. The others must get an error that
// names finalize (not a barrier the program never called) and the rank that left without it.
import { init } from 'orchid-mpi';
const w = await init();
await w.allreduce(1); // every rank is in the job before rank 1 leaves
if (w.rank !== 1) {
  try {
    await w.finalize();
    console.log(`rank ${w.rank} finalized`);
  } catch (e) {
    console.log(`rank ${w.rank} caught ${JSON.stringify({ name: e.name, code: e.code, message: e.message })}`);
  }
}
