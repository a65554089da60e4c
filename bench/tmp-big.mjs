import { init } from 'orchid-mpi';
const { loadAddon } = await import('../dist/transport/mpi/addon.js');
const w = await init();
const size = Number(process.env.SIZE ?? 4194304), N = 60;
const buf = new Uint8Array(size).fill(1);
const ts = [];
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  if (w.rank === 0) { await w.send(buf, 1, 1); await w.recv(1, 1); }
  else { await w.recv(0, 1); await w.send(buf, 0, 1); }
  ts.push(((performance.now() - t0) * 1000 / 2).toFixed(0));
}
if (w.rank === 0) console.log(ts.join(' '), JSON.stringify(loadAddon().addon.stats()));
await w.finalize();
