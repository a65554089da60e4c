// pi: integrate 4/(1+x^2) over [0,1] with the midpoint rule on N intervals. Each rank
// sums one contiguous block of the intervals; allreduce adds the partial sums.
//
//   npx orchidrun -n 4 examples/pi.ts [N]        (default N = 1e9, about 1 s on one x86 core)
import { init } from 'orchid-mpi';

const N = Number(process.argv[2] ?? 1e9);
if (!Number.isSafeInteger(N) || N < 1) {
  console.error(`usage: pi.ts [N]  (N intervals, a positive integer such as 1e8; got ${process.argv[2]})`);
  process.exit(2);
}

const world = await init();
const { rank, size } = world;

await world.barrier(); // start together, so the time is the job's time
const t0 = performance.now();

const h = 1 / N;
const lo = Math.floor((N * rank) / size);
const hi = Math.floor((N * (rank + 1)) / size);
let partial = 0;
for (let i = lo; i < hi; i++) {
  const x = (i + 0.5) * h;
  partial += 4 / (1 + x * x);
}
const computeMs = performance.now() - t0;

// A Float64Array travels as raw bytes (the zero-copy path); a plain number would work too.
const [sum] = await world.allreduce(new Float64Array([partial * h]), 'sum');
const totalMs = performance.now() - t0;
const slowest = await world.reduce(computeMs, 'max', 0);

if (rank === 0) {
  const pi = sum!;
  console.log(`pi ~= ${pi.toFixed(15)}  error ${Math.abs(pi - Math.PI).toExponential(2)}`);
  console.log(`N = ${N} on ${size} rank${size === 1 ? '' : 's'}: ${totalMs.toFixed(1)} ms (slowest rank computed for ${slowest!.toFixed(1)} ms)`);
}
await world.finalize();
