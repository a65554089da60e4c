// The worker side of the task pool: every rank but 0 takes batches from rank 0, calls the task
// function on each item in turn (awaiting it when it returns a promise) and sends the batch's
// results back, until rank 0 sends STOP. A task's exception becomes that task's error; a value
// that cannot be sent becomes that task's TypeError. Both leave the worker serving.
import type { Comm } from '../comm/comm.js';
import { ANY_TAG } from '../comm/wildcards.js';
import { TAG_RESULT, TAG_STOP, TAG_TASK, toWire, unencodable, type ResultMessage, type TaskMessage, type TaskResult } from './protocol.js';
import type { TaskFn } from './task-module.js';

/** Serve rank 0 until it stops the pool (resolves) or is gone (rejects with that error). */
export async function serve(pc: Comm, fn: TaskFn): Promise<void> {
  for (;;) {
    const m = await pc.recvMessage<TaskMessage | null>(0, ANY_TAG);
    if (m.tag === TAG_STOP) return;
    if (m.tag !== TAG_TASK || !Array.isArray(m.data)) throw new Error(`pool: rank ${pc.rank} got a message it does not know from rank 0 (tag ${m.tag})`);
    const [id, items] = m.data;
    const results: TaskResult[] = [];
    for (const item of items) {
      try {
        results.push([1, await fn(item)]);
      } catch (e) {
        results.push([0, toWire(e)]);
      }
    }
    await reply(pc, id, results);
  }
}

async function reply(pc: Comm, id: number, results: TaskResult[]): Promise<void> {
  try {
    await pc.send([id, results] satisfies ResultMessage, 0, TAG_RESULT);
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    // a value that cannot travel (a function, a symbol …) fails its own task only
    const bad = unencodable(results.map((r) => (r[0] === 1 ? r[1] : undefined)), () => `pool: the task's value cannot be sent from rank ${pc.rank}`);
    for (const [i, err] of bad) results[i] = [0, toWire(err)];
    await pc.send([id, results] satisfies ResultMessage, 0, TAG_RESULT);
  }
}
