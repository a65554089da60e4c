// The task of primes-pool.ts: count the primes in [lo, hi) by trial division. Every worker
// imports this module (functions do not travel; the block [lo, hi) does).
import { hostname } from 'node:os';

export function countPrimes([lo, hi]: [number, number]): { count: number; host: string } {
  let count = 0;
  for (let n = Math.max(2, lo); n < hi; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) if (n % d === 0) { prime = false; break; }
    if (prime) count++;
  }
  return { count, host: hostname() };
}
