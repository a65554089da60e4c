// Rank 0 opens a WebSocket to rank 1's listening socket with the job's header and never
// authenticates (as a peer's connection still being set up would), then both finalize:
// rank 1's finalize must settle (it used to end with exit code 13, finalize unsettled).
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { init } from 'orchid-mpi';
import WebSocket from 'ws';

const w = await init();
if (w.rank === 0) {
  const job = process.env.ORCHID_JOB || 'job';
  const path = join(tmpdir(), `orchid-${job.slice(0, 12)}-1.sock`);
  const ws = new WebSocket(`ws+unix://${path}:/`, { headers: { 'x-orchid-job': job } });
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  ws.on('message', () => {}); // the challenge is never answered
  setTimeout(() => ws.terminate(), 3000).unref();
}
await w.barrier();
await w.finalize();
console.log(`DONE ${w.rank}`);
