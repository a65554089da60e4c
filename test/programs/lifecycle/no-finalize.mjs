// Ends without finalize(): the program must still exit by itself, and nothing it sent may be lost
// (a lazily opened connection keeps the program alive until its queued frames are written).
import { init } from 'orchid-mpi';
const w = await init();
const right = (w.rank + 1) % w.size, left = (w.rank - 1 + w.size) % w.size;
const [, v] = await Promise.all([w.send(new Float64Array(200000).fill(w.rank), right), w.recv(left)]);
await w.allreduce(1);
console.log(w.rank, v[0]);
