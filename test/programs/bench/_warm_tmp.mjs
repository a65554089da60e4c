import { init } from 'orchid-mpi';
const { hplRun } = await import('../../../dist/bench/hpl.js');
const world = await init();
const w = +process.argv[2];
const t = performance.now();
if (w) { const self = await world.split(world.rank, 0); await hplRun(self, w); }
const tw = performance.now() - t;
const r = await hplRun(world, 1000);
console.log(`warm ${w}: ${tw.toFixed(0)} ms, then N=1000 ${r.seconds.toFixed(3)} s`);
await world.finalize();
