import { init } from 'orchid-mpi';
const w = await init();
console.log(`hello ${w.rank}/${w.size} transport=${process.env.ORCHID_TRANSPORT ?? 'none'}`);
await w.finalize();
