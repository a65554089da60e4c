import { init } from 'orchid-mpi';
const w = await init();
const N = Number(process.env.N ?? 5000);
const buf = new Uint8Array(8);
const lat = new Float64Array(N);
for (let rep = 0; rep < 4; rep++) {
  await w.barrier();
  for (let i = 0; i < N; i++) {
    const t0 = process.hrtime.bigint();
    if (w.rank === 0) { await w.send(buf, 1, 1); await w.recv(1, 1); }
    else { await w.recv(0, 1); await w.send(buf, 0, 1); }
    lat[i] = Number(process.hrtime.bigint() - t0) / 2e3;
  }
  const s = [...lat].sort((a, b) => a - b);
  let t = 0; for (const x of lat) t += x;
  if (w.rank === 0) console.log(`rep ${rep}: mean ${(t / N).toFixed(2)} p50 ${s[N >> 1].toFixed(2)} p90 ${s[Math.floor(N * 0.9)].toFixed(2)} p99 ${s[Math.floor(N * 0.99)].toFixed(2)} µs`);
  const x = new Float64Array(1);
  await w.barrier();
  let t1 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await w.allreduce(1.5, 'sum');
  let t2 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await w.allreduce(x, 'sum');
  let t3 = process.hrtime.bigint();
  if (w.rank === 0) console.log(`   allreduce number ${(Number(t2 - t1) / 1e3 / N).toFixed(2)} f64(1) ${(Number(t3 - t2) / 1e3 / N).toFixed(2)} µs`);
}
await w.finalize();
