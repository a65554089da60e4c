// Rank program for test/security.test.mjs: after init, report what `ps` and /proc show of
// this rank, its proxy (parent) and the launcher (the proxy's parent): command lines and
// environments. It also reports the job secret itself (read from the launcher pipe, as
// init() does) so the test can search for it; a real program has no reason to print it.
import { readFileSync } from 'node:fs';
import { init } from 'orchid-mpi';
import { readSecret } from '../../../dist/rank/launcher-pipe.js';

// `node --test test/` runs every .mjs under test/ as a test file: nothing to do then.
if (process.env.ORCHID_RANK === undefined) process.exit(0);

const world = await init();
const secret = await readSecret(); // the same memoised read init() used
const ppidOf = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
};
const proc = (pid) => {
  const read = (f) => {
    try {
      return readFileSync(`/proc/${pid}/${f}`, 'latin1').split('\0').filter((s) => s !== '');
    } catch (e) {
      return [`<unreadable: ${e.code}>`];
    }
  };
  return { pid, cmdline: read('cmdline'), environ: read('environ') };
};
const proxy = process.ppid;
const launcher = ppidOf(proxy);
// everyone reads /proc while all three generations are alive
await world.barrier();
const report = {
  rank: world.rank,
  envKeys: Object.keys(process.env).sort(),
  env: process.env,
  argv: process.argv,
  self: proc('self'),
  proxy: proc(proxy),
  launcher: proc(launcher),
  secretB64: secret.toString('base64'),
  secretLen: secret.length,
};
await world.barrier();
process.stdout.write(`report ${JSON.stringify(report)}\n`);
await world.finalize();
