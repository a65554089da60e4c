// `orchidrun …` / `orchid run …`: parse, launch, print each output line with one write,
// apply the exit rules, and turn terminal signals into an orderly teardown.
import type { Writable } from 'node:stream';
import { isOrchidError } from '../errors.js';
import { launch, type Job } from '../launcher/index.js';
import { parseRunArgs } from './args.js';
import { RUN_HELP, version } from './usage.js';

const PROG = 'orchidrun';

export function usageError(prog: string, message: string, helpCmd: string): never {
  process.stderr.write(`${prog}: ${message}\nTry '${helpCmd} --help' for more information.\n`);
  process.exit(2);
}

export async function runMain(argv: readonly string[], helpCmd = PROG): Promise<never> {
  let job: Job;
  try {
    const parsed = parseRunArgs(argv);
    if (parsed.kind === 'help') {
      process.stdout.write(RUN_HELP);
      process.exit(0);
    }
    if (parsed.kind === 'version') {
      process.stdout.write(`orchidrun (orchid-mpi) ${version()}\n`);
      process.exit(0);
    }
    job = launch({ ...parsed.options, stdin: 'inherit', outputHighWater: 4096 });
  } catch (e) {
    if (isOrchidError(e) && e.code === 'ERR_ARG') usageError(PROG, e.message, helpCmd);
    throw e;
  }

  // First Ctrl-C: orderly teardown (ranks get SIGINT, SIGKILL after a grace time); second: hard kill.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => job.kill(sig));
  // Ctrl-Z stops the ranks on every host, then the launcher; fg / bg (SIGCONT) resumes them.
  process.on('SIGTSTP', () => {
    job.signal?.('SIGTSTP');
    setTimeout(() => process.kill(process.pid, 'SIGSTOP'), 100); // let the message reach the proxies first
  });
  process.on('SIGCONT', () => job.signal?.('SIGCONT'));
  // Ctrl-\ (SIGQUIT): print what every rank waits for; the job goes on.
  process.on('SIGQUIT', () => void job.reportPending?.());
  // A closed stdout (`orchidrun … | head`) ends the job like SIGPIPE would.
  const onPipeError = (): void => job.kill('SIGPIPE');
  process.stdout.on('error', onPipeError);
  process.stderr.on('error', () => {});

  for await (const line of job.output) {
    const out = line.stream === 'stderr' ? process.stderr : process.stdout;
    // one write per line: lines from different ranks never interleave mid-line
    if (out.destroyed) continue; // reader gone (EPIPE): the job is being ended
    if (!out.write(line.text + '\n')) await drained(out);
  }
  const result = await job.done;
  if (result.message) process.stderr.write(`${PROG}: ${result.message}\n`);
  // a pipe takes what it can now and queues the rest: exit only once it is all out
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(result.code);
}

function drained(stream: Writable): Promise<void> {
  if (stream.destroyed || stream.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('error', done);
    stream.on('close', done);
  });
}

function flushed(stream: Writable): Promise<void> {
  if (stream.destroyed || stream.writableLength === 0) return Promise.resolve();
  return new Promise((resolve) => {
    stream.write('', () => resolve());
    stream.once('error', () => resolve());
  });
}
