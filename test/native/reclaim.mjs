// Rank 0 sends 600 messages of 4 MiB; rank 1 receives and drops each one. Every received
// message is a fresh buffer handed to JS; then 300 allreduces of 8 MB whose results are
// dropped. Rank 1 reports its peak RSS and the addon's pool.
import { init } from 'orchid-mpi';
import { loadAddon } from '../../dist/transport/mpi/addon.js';

const w = await init();
const buf = new Uint8Array(4 << 20).fill(1);
let sum = 0;
for (let i = 0; i < 600; i++) {
  if (w.rank === 0) await w.send(buf, 1, 1);
  else if (w.rank === 1) sum += (await w.recv(0, 1))[i];
}
// and 300 results of an 8 MB allreduce (from the addon's pool too), dropped as they come
const a = new Float64Array(1 << 20).fill(1);
for (let i = 0; i < 300; i++) sum += (await w.allreduce(a, 'sum'))[i] === w.size ? 0 : 1;
await w.barrier();
if (w.rank === 1) console.log(JSON.stringify({ sum, maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024), ...loadAddon().addon.stats() }));
await w.finalize();
