// Long loops on 2 ranks of the mpi transport, to see the steady per-call cost apart from the
// bench's short repeats: an 8 B ping-pong and an allreduce of a number, each REPS blocks of
// N calls, printing each block's mean (the first blocks include the JIT's warm-up).
//   mpiexec -n 2 node bench/mpi-steady.mjs [N=20000] [REPS=3]
import { init } from 'orchid-mpi';

const w = await init();
if (w.size !== 2) throw new Error('mpi-steady needs exactly 2 ranks');
const N = Number(process.argv[2] ?? 20000);
const REPS = Number(process.argv[3] ?? 3);
const buf = new Uint8Array(8);
const block = async (what, body, per = 1) => {
  const out = [];
  for (let r = 0; r < REPS; r++) {
    await w.barrier();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) await body();
    out.push(Number(process.hrtime.bigint() - t0) / 1e3 / N / per);
  }
  if (w.rank === 0) console.log(`${what}: ${out.map((x) => x.toFixed(2)).join(', ')} µs per block of ${N}`);
};
await block('8 B one-way (round trip / 2)', async () => {
  if (w.rank === 0) {
    await w.send(buf, 1, 1);
    await w.recv(1, 1);
  } else {
    await w.recv(0, 1);
    await w.send(buf, 0, 1);
  }
}, 2);
await block('allreduce of a number', () => w.allreduce(1.5, 'sum'));
await w.finalize();
