// One rank of the conformance job: runs every check (or those named in ORCHID_CHECKS, a
// regex) and prints one line per check: `CHECK <rank> <ok|FAIL> <name> [error]`.
import { init, isFinalized } from 'orchid-mpi';
import { checks } from './checks.mjs';

const only = process.env.ORCHID_CHECKS ? new RegExp(process.env.ORCHID_CHECKS) : undefined;
const world = await init();
console.log(`ARCH ${world.rank} ${process.arch}`);
for (const [name, fn] of checks) {
  if (only && !only.test(name)) continue;
  try {
    await fn(world);
    console.log(`CHECK ${world.rank} ok ${name}`);
  } catch (e) {
    console.log(`CHECK ${world.rank} FAIL ${name} ${JSON.stringify(String(e?.stack ?? e))}`);
  }
}
await world.finalize();
// the suite expects exactly `DONE <rank>`: isFinalized() must be true now
console.log(`DONE ${world.rank}${isFinalized() ? '' : ' but isFinalized() is false after finalize()'}`);
