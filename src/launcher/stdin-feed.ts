// Standard input goes to rank 0: the launcher's own stdin (or a stream or string of the
// programmatic launch) relayed to the proxy of rank 0's host as base64 `stdin` messages, then
// `stdin-end`.
import type { Readable } from 'node:stream';
import type { JobPlan } from './job-plan.js';

type StdinMessage = { t: 'stdin'; data: string } | { t: 'stdin-end' };

/**
 * Starts relaying `src` through `send`; returns the function that stops it early (the job
 * ends), or undefined when there is nothing left to stop.
 */
export function feedStdin(src: JobPlan['stdin'], send: (m: StdinMessage) => void): (() => void) | undefined {
  if (src === 'ignore') return undefined;
  if (typeof src === 'string' && src !== 'inherit') {
    if (src !== '') send({ t: 'stdin', data: Buffer.from(src).toString('base64') });
    send({ t: 'stdin-end' });
    return undefined;
  }
  const stream: Readable = src === 'inherit' ? process.stdin : src;
  let stopped = false;
  const onData = (chunk: Buffer | string): void => send({ t: 'stdin', data: (typeof chunk === 'string' ? Buffer.from(chunk) : chunk).toString('base64') });
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    stream.off('data', onData);
    stream.off('end', onEnd);
    stream.off('error', onEnd);
    stream.pause();
    // let the launcher's event loop end even though its stdin is still open
    (stream as Readable & { unref?: () => void }).unref?.();
  };
  const onEnd = (): void => {
    stop();
    send({ t: 'stdin-end' });
  };
  stream.on('data', onData);
  stream.on('end', onEnd);
  stream.on('error', onEnd);
  return stop;
}
