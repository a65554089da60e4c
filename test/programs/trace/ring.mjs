// A known program for test/trace.test.mjs: 5 rounds of irecv+send around a ring, allreduce, barrier,
// dup and a bcast on it; with HOLD=FILE rank 1 waits in a recv from rank 0 until FILE exists
// (for --live: the test looks at the page, then creates FILE).
import { existsSync } from 'node:fs';
import { init, wtime, wtick } from 'orchid-mpi';
const w = await init();
const next = (w.rank + 1) % w.size, prev = (w.rank - 1 + w.size) % w.size;
for (let i = 0; i < 5; i++) {
  const r = w.irecv(prev, 7);
  await w.send(new Float64Array(16), next, 7);
  await r.wait();
}
await w.allreduce(1);
await w.barrier();
const d = await w.dup();
await d.bcast(w.rank === 0 ? 'x' : undefined, 0);
const hold = process.env.HOLD;
if (hold && w.rank === 1) await w.recv(0, 99);
if (hold && w.rank === 0) {
  while (!existsSync(hold)) await new Promise((r) => setTimeout(r, 50));
  await w.send(1, 1, 99);
}
console.log(`rank ${w.rank} wtime ${wtime().toFixed(3)} tick ${wtick()}`);
await w.finalize();
