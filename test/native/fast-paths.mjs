// The mpi transport's fast paths, on 2 ranks (test/native-fast.test.mjs): how many MPI
// collective calls a Comm call costs, how many microtask turns a receive of a message that is
// already there takes, and whether large receive buffers sit on huge pages. Prints JSON on rank 0.
import { readFileSync } from 'node:fs';
import { init } from 'orchid-mpi';

const { loadAddon } = await import('../../dist/transport/mpi/addon.js');
const addon = loadAddon().addon;
const w = await init();
const out = {};

// MPI collective calls per Comm call (the agreement block carries a small allreduce whole)
const calls = async (name, fn) => {
  await w.barrier();
  const before = addon.stats().collectives;
  const value = await fn();
  out[name] = { calls: addon.stats().collectives - before, value };
};
await calls('allreduceNumber', () => w.allreduce(w.rank + 1.5, 'sum'));
await calls('allreduceF64', async () => Array.from(await w.allreduce(Float64Array.of(w.rank, 2), 'max')));
await calls('allreduceLarge', async () => (await w.allreduce(new Float64Array(1000).fill(1), 'sum'))[999]);
await calls('barrier', () => w.barrier());

// microtask turns until `await recv()` of a message that has arrived returns
if (w.rank === 1) await w.send({ hello: 1 }, 0, 7);
await w.barrier();
if (w.rank === 0) {
  while (!w.iprobe(1, 7)) await new Promise((r) => setTimeout(r, 1));
  let turns = 0;
  let stop = false;
  const tick = () => {
    turns++;
    if (!stop && turns < 100) queueMicrotask(tick);
  };
  queueMicrotask(tick);
  const got = await w.recv(1, 7);
  stop = true;
  out.recvTurns = { turns, got };
}

// large receive buffers: transparent huge pages (when the kernel offers them)
const big = [];
if (w.rank === 0) for (let i = 0; i < 8; i++) await w.send(new Uint8Array(4 << 20).fill(i), 1, 9);
else for (let i = 0; i < 8; i++) big.push(await w.recv(0, 9));
const huge = (() => {
  try {
    return Number(/AnonHugePages:\s+(\d+)/.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))[1]);
  } catch {
    return -1;
  }
})();
out.hugeKB = await w.bcast(huge, 1);
out.bigOk = await w.bcast(big.every((b, i) => b.length === 4 << 20 && b[12345] === i), 1);
if (w.rank === 0) console.log(JSON.stringify(out));
await w.finalize();
