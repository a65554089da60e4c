// piscina worker of the hybrid mode: one slice of a kernel's work per task.
import { piPartial, primesPartial } from './kernels.js';

export default function task(t: { kernel: string; n: number; lo?: number; hi?: number; start?: number; step?: number }): number {
  if (t.kernel === 'pi') return piPartial(t.n, t.lo!, t.hi!);
  if (t.kernel === 'primes') return primesPartial(t.n, t.start!, t.step!);
  if (t.kernel === 'warmup') return 0;
  throw new Error(`hybrid worker: unknown kernel ${t.kernel}`);
}
