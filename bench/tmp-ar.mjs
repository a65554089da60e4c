import { init } from 'orchid-mpi';
const w = await init();
const N = Number(process.env.N ?? 200000);
for (let rep = 0; rep < 3; rep++) {
  let t1 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await w.allreduce(1.5, 'sum');
  let t2 = process.hrtime.bigint();
  console.log(`allreduce(number) ${(Number(t2 - t1) / 1e3 / N).toFixed(3)} µs`);
}
await w.finalize();
