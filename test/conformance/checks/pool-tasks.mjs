// The task module of the pool checks (checks/pool.mjs) and of test/pool.test.mjs: every
// worker imports it by URL and calls one export per task. Each task says where it ran.
import { init } from 'orchid-mpi';

const world = await init(); // the job's world (init() again returns the same one)

/** x² and the rank and host that computed it; async, as a task may be. */
export async function square(x) {
  await new Promise((r) => setImmediate(r));
  return { v: x * x, rank: world.rank, host: world.hostname };
}

/** A negative number throws RangeError; 'code' an Error with a code; 'str' a string;
 *  'fn' returns a function (cannot travel back); anything else comes back as it is. */
export function faulty(x) {
  if (typeof x === 'number' && x < 0) throw new RangeError(`bad item ${x}`);
  if (x === 'code') throw Object.assign(new Error('an error with a code'), { code: 'E_TASK' });
  if (x === 'str') throw 'a string';
  if (x === 'fn') return () => 1;
  return x;
}

/** Faults of a worker's process: 'exit' ends it with code 0, 'kill' kills it (SIGKILL),
 *  'spin' never returns; a number waits that many ms and says where it ran. */
export async function fault(x) {
  if (x === 'exit') process.exit(0);
  if (x === 'kill') process.kill(process.pid, 'SIGKILL');
  if (x === 'spin') for (;;);
  await new Promise((r) => setTimeout(r, x));
  return world.rank;
}

export const notAFunction = 42;
