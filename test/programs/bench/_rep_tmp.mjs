import { init } from 'orchid-mpi';
const { hplRun } = await import(process.env.HPL_MOD ?? '../../../dist/bench/hpl.js');
const world = await init();
const n = +process.argv[2] || 1000, reps = +process.argv[3] || 4, nb = process.argv[4] ? +process.argv[4] : undefined;
const secs = [];
for (let r = 0; r < reps; r++) { const res = await hplRun(world, n, { nb }); if (!res.verified) throw new Error(res.detail); secs.push(res.seconds); }
if (world.rank === 0) console.log(`N=${n} nb=${nb ?? 'default'} ranks=${world.size}`, secs.map((s) => s.toFixed(3)).join(' '), 'best GFLOP/s', ((2/3*n**3+1.5*n*n)/Math.min(...secs)/1e9).toFixed(2));
await world.finalize();
