// Message sizes of the ping-pong benchmarks and how many round trips each gets.
const ALL = [8, 64, 512, 4096, 32768, 262144, 1048576, 4194304];
/** PINGPONG_SIZES=8,32768 keeps only those (for profiling one size). */
export const SIZES = process.env.PINGPONG_SIZES ? process.env.PINGPONG_SIZES.split(',').map(Number) : ALL;
export function itersFor(size) {
  const scale = Number(process.env.PINGPONG_SCALE ?? 1);
  const base = size <= 4096 ? 2000 : size <= 262144 ? 300 : 40;
  return Math.max(5, Math.round(base * scale));
}

/**
 * Bytes each size of 16 KiB and up moves untimed first (PINGPONG_WARM_MB, default 96; 0: only
 * the round trips below). Until a rank's heap stops growing, every message it receives lands
 * in fresh memory: a 32 KiB round trip took 17 page faults (13 µs each in this VM) and
 * 200-500 µs for the first ~2000 round trips, then 0-1 faults and 40-60 µs, on both sides.
 */
const WARM_BYTES = Number(process.env.PINGPONG_WARM_MB ?? 96) * (1 << 20);

/** Round trips before timing a size: enough for the JIT to settle and the heap to stop growing. */
export function warmupFor(size) {
  const jit = Math.max(20, itersFor(size) >> 2);
  return size >= 16384 ? Math.max(jit, Math.ceil(WARM_BYTES / size)) : jit;
}

/** Round trips of 8 B before the first size, so the first row is not a JIT warm-up. */
export const FIRST_WARMUP = 3000;
