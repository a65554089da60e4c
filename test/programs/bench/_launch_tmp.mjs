import { launch } from 'orchid-mpi/launcher';
const [np, ...args] = process.argv.slice(2);
const j = launch({ np: +np, script: new URL('./_rep_tmp.mjs', import.meta.url).pathname, args, transport: 'ws', timeout: 300 });
for await (const l of j.output) console.log(`[${l.rank}] ${l.text}`);
console.log(await j.done);
