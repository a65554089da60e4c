#!/usr/bin/env node
// orchid: the tool command; `orchid run …` is orchidrun.
import { runMain, usageError } from './run.js';
import { ORCHID_HELP, version } from './usage.js';

const [cmd, ...rest] = process.argv.slice(2);

if (cmd === undefined) {
  process.stderr.write(ORCHID_HELP);
  process.exit(2);
} else if (cmd === '-h' || cmd === '--help' || cmd === 'help') {
  process.stdout.write(ORCHID_HELP);
  process.exit(0);
} else if (cmd === '--version') {
  process.stdout.write(`orchid (orchid-mpi) ${version()}\n`);
  process.exit(0);
} else if (cmd === 'run') {
  await runMain(rest, 'orchid run');
} else if (cmd === 'bench') {
  const { benchMain } = await import('../bench/cli.js');
  const { isOrchidError } = await import('../errors.js');
  try {
    process.exit(await benchMain(rest));
  } catch (e) {
    if (isOrchidError(e) && e.code === 'ERR_ARG') usageError('orchid bench', e.message, 'orchid bench');
    throw e;
  }
} else if (cmd === 'exec' || cmd === 'ssh-setup' || cmd === 'doctor') {
  const main =
    cmd === 'exec'
      ? (await import('./tools/exec.js')).execMain
      : cmd === 'doctor'
        ? (await import('./tools/doctor.js')).doctorMain
        : (await import('./tools/ssh-setup.js')).sshSetupMain;
  const { isOrchidError } = await import('../errors.js');
  try {
    process.exit(await main(rest));
  } catch (e) {
    if (isOrchidError(e) && e.code === 'ERR_ARG') usageError(`orchid ${cmd}`, e.message, `orchid ${cmd}`);
    throw e;
  }
} else {
  usageError('orchid', `unknown command ${JSON.stringify(cmd)}`, 'orchid');
}
