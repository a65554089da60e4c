// The audit's program: allreduce of Float64Arrays whose lengths differ (ERR_COUNT on every
// rank, caught), small and large (ring), then finalize, which must settle on every rank.
import { init } from 'orchid-mpi';

const w = await init();
for (const base of [4, 1 << 15]) {
  const len = w.rank === w.size - 1 ? base + 1 : base;
  try {
    await w.allreduce(new Float64Array(len), 'sum');
    console.log(`NO ERROR ${w.rank}`);
  } catch (e) {
    if (e.code !== 'ERR_COUNT') console.log(`WRONG ERROR ${w.rank} ${e.code} ${e.message}`);
  }
}
await w.finalize();
console.log(`DONE ${w.rank}`);
