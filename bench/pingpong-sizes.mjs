// Message sizes of the ping-pong benchmarks and how many round trips each gets.
const ALL = [8, 64, 512, 4096, 32768, 262144, 1048576, 4194304];
/** PINGPONG_SIZES=8,32768 keeps only those (for profiling one size). */
export const SIZES = process.env.PINGPONG_SIZES ? process.env.PINGPONG_SIZES.split(',').map(Number) : ALL;
export function itersFor(size) {
  const scale = Number(process.env.PINGPONG_SCALE ?? 1);
  const base = size <= 4096 ? 2000 : size <= 262144 ? 300 : 40;
  return Math.max(5, Math.round(base * scale));
}

/** Round trips before timing a size: enough for the JIT to settle on the hot path. */
export function warmupFor(size) {
  return Math.max(20, itersFor(size) >> 2);
}

/** Round trips of 8 B before the first size, so the first row is not a JIT warm-up. */
export const FIRST_WARMUP = 3000;
