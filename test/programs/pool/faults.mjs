// A pool job with a fault (argv[2]): 'exit' a worker exits with code 0 mid-map, 'kill' a worker
// is killed, 'stuck' a task never returns and close({ timeoutMs }) gives up. Rank 0 prints
// `R index value|code` per result, then `WORKERS n`.
import { init } from 'orchid-mpi';
import { Pool } from 'orchid-mpi/pool';

const mode = process.argv[2];
const world = await init();
const pool = await Pool.start(world, { module: new URL('../../conformance/checks/pool-tasks.mjs', import.meta.url), export: 'fault' });
if (pool) {
  const items = Array.from({ length: 30 }, () => 20);
  if (mode === 'exit') items[5] = 'exit';
  if (mode === 'kill') items[5] = 'kill';
  if (mode === 'stuck') {
    items[5] = 'spin';
    const subs = items.map((x, i) => pool.submit(x).then((v) => `R ${i} ${v}`, (e) => `R ${i} ${e.code}`));
    try {
      await pool.close({ timeoutMs: 1500 });
    } catch (e) {
      console.log(`CLOSE ${e.code} ${e.message}`);
    }
    for (const s of await Promise.all(subs)) console.log(s);
    world.abort(3);
  }
  for await (const r of pool.map(items)) console.log(`R ${r.index} ${r.error ? `${r.error.code} ${r.error.message}` : r.value}`);
  console.log(`WORKERS ${pool.workers}`);
  await pool.close();
}
await world.finalize();
