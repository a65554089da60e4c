// primes-pool: count the primes below N with the task pool (orchid-mpi/pool): rank 0 hands
// blocks of numbers to the other ranks as they finish the previous one (later blocks take
// longer, so the balancing is dynamic); prints the count and how many blocks each host did.
//
//   npx orchidrun -n 4 examples/primes-pool.ts [N] [BLOCK]     (default N = 2e6, BLOCK = 50000)
import { init } from 'orchid-mpi';
import { Pool } from 'orchid-mpi/pool';

const N = Number(process.argv[2] ?? 2e6);
const B = Number(process.argv[3] ?? 5e4);
if (!Number.isSafeInteger(N) || N < 1 || !Number.isSafeInteger(B) || B < 1) {
  console.error(`usage: primes-pool.ts [N] [BLOCK]  (positive integers; got ${process.argv.slice(2).join(' ')})`);
  process.exit(2);
}

const world = await init();
const pool = await Pool.start<[number, number], { count: number; host: string }>(world, {
  module: new URL('./primes-tasks.ts', import.meta.url),
  export: 'countPrimes',
});
if (pool) {
  const t0 = performance.now();
  const blocks: [number, number][] = [];
  for (let lo = 0; lo < N; lo += B) blocks.push([lo, Math.min(N, lo + B)]);
  let total = 0;
  const perHost = new Map<string, number>();
  for await (const r of pool.map(blocks, { ordered: false })) {
    if (r.error) throw r.error;
    total += r.value.count;
    perHost.set(r.value.host, (perHost.get(r.value.host) ?? 0) + 1);
  }
  const ms = performance.now() - t0;
  console.log(`primes below ${N}: ${total}`);
  console.log(`${blocks.length} blocks on ${pool.workers} worker${pool.workers === 1 ? '' : 's'} in ${ms.toFixed(1)} ms; blocks per host: ${[...perHost].map(([h, n]) => `${h} ${n}`).join(', ')}`);
  await pool.close();
}
await world.finalize();
