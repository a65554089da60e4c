// Rank program for test/backpressure.test.mjs. Rank 1 floods rank 0 with isends it does not
// await; rank 0 sleeps, measures how much memory the flood cost it, then receives everything
// in order and checks every message. Rank 0 prints `measure {…}` and `ok {…}` lines.
//   large: COUNT isends of BYTES-byte Float64Arrays (rendezvous: payloads wait at the sender)
//   small: COUNT isends of BYTES-byte Float64Arrays (eager until the credit window is used)
import { init, waitAll } from 'orchid-mpi';

// `node --test test/` runs every .mjs under test/ as a test file: nothing to do then.
if (process.env.ORCHID_RANK === undefined) process.exit(0);

const [mode, countText, bytesText, sleepText = '2000'] = process.argv.slice(2);
const count = Number(countText);
const elems = Number(bytesText) / 8;
const sleepMs = Number(sleepText);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (text) => process.stdout.write(`${text}\n`);

const world = await init();
if (world.size !== 2) throw new Error('run with -n 2');
// connections open in both directions before anything is measured
await world.barrier();

/** Message i: element j holds i * 1e6 + j (exact in a double). */
const fill = (i) => {
  const a = new Float64Array(elems);
  for (let j = 0; j < elems; j++) a[j] = i * 1e6 + j;
  return a;
};

if (world.rank === 1) {
  const msgs = Array.from({ length: count }, (_, i) => fill(i));
  const t0 = Date.now();
  const reqs = msgs.map((m) => world.isend(m, 0, 5));
  say(`rank 1 started ${count} isends of ${elems * 8} bytes (${mode}) in ${Date.now() - t0} ms`);
  await waitAll(reqs);
  say(`rank 1 all ${count} isends resolved`);
} else {
  const mem = () => {
    const m = process.memoryUsage();
    return { arrayBuffers: m.arrayBuffers, rss: m.rss, external: m.external, heapUsed: m.heapUsed };
  };
  const before = mem();
  await sleep(sleepMs); // the sender floods meanwhile
  const during = mem();
  // the flood did reach this rank: at least its first envelope is waiting here
  const somethingWaiting = world.iprobe(1, 5) !== undefined;
  say(`measure ${JSON.stringify({ mode, count, bytes: elems * 8, sleepMs, before, during, somethingWaiting })}`);
  let bad = 0;
  let firstBad;
  const t0 = Date.now();
  for (let i = 0; i < count; i++) {
    const m = await world.recvMessage(1, 5);
    const a = m.data;
    const ok = a instanceof Float64Array && a.length === elems && a[0] === i * 1e6 && a[elems - 1] === i * 1e6 + elems - 1 && a[elems >> 1] === i * 1e6 + (elems >> 1);
    if (!ok) {
      bad++;
      firstBad ??= { i, kind: a?.constructor?.name, length: a?.length, first: a?.[0], last: a?.[elems - 1] };
    }
  }
  const after = mem();
  say(`ok ${JSON.stringify({ mode, received: count, bad, firstBad, recvMs: Date.now() - t0, after })}`);
}
await world.finalize();
