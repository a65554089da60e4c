// One rank of the orchid-over-MPI micro-benchmarks, the same method as bench/c/orchid_osu.c
// (same sizes, iterations, warm-up, one-way latency = round trip / 2, collectives: slowest
// rank's mean per call). Prints the same JSON lines with impl "orchid-mpi".
import { init } from 'orchid-mpi';

const w = await init();
const arg = (name, d) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : d;
};
const sizes = arg('--sizes', '8,64,512,4096,32768,262144,1048576,4194304').split(',').map(Number);
const csizes = arg('--coll-sizes', '8,8388608').split(',').map(Number);
const reps = Number(arg('--repeats', '5'));
const scale = Number(arg('--scale', '1'));
// --dist SIZE: the ping-pong (recv) of that size also times every iteration (for percentiles)
const dist = Number(arg('--dist', '-1'));
const iterFor = (size) => Math.max(3, Math.round((size <= 4096 ? 1000 : size <= 65536 ? 300 : size <= 1048576 ? 60 : 20) * scale));
const now = () => Number(process.hrtime.bigint()) / 1e3; // µs
const out = (o) => w.rank === 0 && console.log(JSON.stringify({ impl: 'orchid-mpi', ranks: w.size, ...o }));

// JIT warm-up before any timing (C needs none): V8 tiers the hot paths up over the first few
// thousand calls (the first thousand allreduces of a fresh process take 15-60 µs each, the
// optimised ones 3-7 µs; the 8 B ping-pong is steady after a few hundred), and on a machine
// whose cores the ranks fill, its compiler threads compete with them. --warmup N (default
// 30000) rounds of a ping-pong of 8 B (recv and recvInto) and both small allreduces.
const warmups = Number(arg('--warmup', '30000'));
const tiny = new Uint8Array(8);
const tinyInto = new Uint8Array(8);
const one = new Float64Array(1);
for (let i = 0; i < warmups; i++) {
  if (w.rank === 0) {
    await w.send(tiny, 1, 2);
    await (i & 1 ? w.recvInto(tinyInto, 1, 2) : w.recv(1, 2));
  } else if (w.rank === 1) {
    await (i & 1 ? w.recvInto(tinyInto, 0, 2) : w.recv(0, 2));
    await w.send(tiny, 0, 2);
  }
  await w.allreduce(one, 'sum');
  await w.allreduce(1, 'sum');
}

// ping-pong with recv() (a fresh exact-size array per message, the everyday API) and with
// recvInto() (into one preallocated array, as the C program does)
for (const [name, into] of [['pingpong', null], ['pingpong-into', true]])
for (const size of sizes) {
  const iters = iterFor(size);
  const warm = Math.max(2, iters >> 3);
  const buf = new Uint8Array(size);
  const dst = into && new Uint8Array(size);
  const get = dst ? (from) => w.recvInto(dst, from, 1) : (from) => w.recv(from, 1);
  const lat = [];
  const each = size === dist && !into ? [] : null;
  for (let r = 0; r < reps; r++) {
    await w.barrier();
    let t0 = 0;
    for (let i = 0; i < warm + iters; i++) {
      if (i === warm) t0 = now();
      if (w.rank === 0) {
        const ti = each ? now() : 0;
        await w.send(buf, 1, 1);
        await get(1);
        if (each && i >= warm) each.push((now() - ti) / 2);
      } else if (w.rank === 1) {
        await get(0);
        await w.send(buf, 0, 1);
      }
    }
    lat.push((now() - t0) / iters / 2);
  }
  out({ benchmark: `${name}-latency`, size, unit: 'us', iters, samples: lat });
  if (each) out({ benchmark: `${name}-dist`, size, unit: 'us', iters, samples: each });
  out({ benchmark: `${name}-bandwidth`, size, unit: 'MB/s', iters, samples: lat.map((us) => size / us) });
}

for (const size of csizes) {
  const n = Math.max(1, size / 8);
  const iters = iterFor(size);
  const warm = Math.max(2, iters >> 3);
  const kinds = n === 1 ? ['allreduce', 'allreduce-number'] : ['allreduce'];
  for (const kind of kinds) {
    const a = new Float64Array(n).fill(1);
    const samples = [];
    for (let r = 0; r < reps; r++) {
      await w.barrier();
      let t0 = 0;
      for (let i = 0; i < warm + iters; i++) {
        if (i === warm) t0 = now();
        if (kind === 'allreduce-number') await w.allreduce(1.5, 'sum');
        else await w.allreduce(a, 'sum');
      }
      samples.push(await w.allreduce((now() - t0) / iters, 'max'));
    }
    out({ benchmark: kind, size, unit: 'us', iters, samples });
  }
}
await w.finalize();
