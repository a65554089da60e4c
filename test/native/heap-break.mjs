// A rank that allocates while it communicates, then says whether UCX is mapped into it (the
// test runs it under strace and looks for brk() calls made by UCX's memory hooks).
import { readFileSync } from 'node:fs';
import { init } from 'orchid-mpi';

const w = await init();
let keep = [];
for (let i = 0; i < 50; i++) {
  keep.push(new Uint8Array(100_000 + i * 1000));
  if (keep.length > 8) keep = [];
  await w.allreduce(new Float64Array(1000).fill(1), 'sum');
}
const maps = readFileSync('/proc/self/maps', 'utf8');
if (w.rank === 0) console.log(JSON.stringify({ ucx: /libucs\.so/.test(maps), memEvents: process.env.UCX_MEM_EVENTS ?? null }));
await w.finalize();
