import { init } from 'orchid-mpi';
const w = await init();
const N = Number(process.env.N ?? 200000);
const buf = new Uint8Array(8);
for (let rep = 0; rep < 3; rep++) {
  await w.barrier();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    if (w.rank === 0) { await w.send(buf, 1, 1); await w.recv(1, 1); }
    else { await w.recv(0, 1); await w.send(buf, 0, 1); }
  }
  if (w.rank === 0) console.log(`one-way ${(Number(process.hrtime.bigint() - t0) / 2e3 / N).toFixed(3)} µs`);
}
await w.finalize();
