// `node salloc.mjs ARGS…` runs `salloc ARGS…` (so test helpers that start node scripts can
// start a job inside a Slurm allocation) and exits like it.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

if (process.argv.length <= 2) process.exit(0); // `node --test` runs every .mjs: nothing to do
const child = spawn('salloc', process.argv.slice(2), { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? 128 + (constants.signals[signal] ?? 0)));
