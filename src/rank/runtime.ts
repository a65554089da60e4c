// The Runtime every communicator of this process shares (src/comm/comm.ts): finalize() and
// abort() on top of the Membership of the job this rank joined (ws, mpi, or a world of one).
import type { Comm, Runtime } from '../comm/comm.js';
import { OrchidError } from '../errors.js';
import { markFinalizing } from '../comm/pending.js';
import { markFinalized } from './lifecycle.js';
import { traceBegin, traceCall } from '../comm/trace.js';
import { endTrace } from './trace-ship.js';

/** What the runtime needs from the job this rank belongs to. */
export interface Membership {
  /** fail every pending operation with `err` */
  failAll(err: Error): void;
  /** end the whole job with `code`; the process exits once it settles (or after 1 s) */
  abort(code: number, message: string): Promise<void>;
  /** finalize: wait until every rank got there; errors name `finalize` */
  sync(world: Comm): Promise<void>;
  /** after finalize: release the transport; `ended` is the error later calls get */
  close(ended: Error): Promise<void>;
}

export function makeRuntime(job: Membership): Runtime {
  let finalizing: Promise<void> | undefined;
  const rt: Runtime = {
    abort(code, message) {
      const err = new OrchidError('ERR_ABORTED', message);
      rt.ended ??= err;
      job.failAll(err);
      const exit = () => process.exit(code);
      setTimeout(exit, 1000).unref();
      // abort() throws `err` so that it never returns: uncaught, it must not end the process
      // with code 1 before the job's abort is out; any other error now is only reported
      const quiet = (e: unknown) => {
        if (e !== err) process.stderr.write(`orchid: after abort(${code}): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      };
      process.on('uncaughtException', quiet);
      process.on('unhandledRejection', quiet);
      job.abort(code, message).then(exit, exit);
      return err;
    },
    finalize() {
      markFinalizing();
      finalizing ??= (async () => {
        if (rt.ended) return;
        const t0 = traceBegin();
        try {
          await job.sync(rt.world!);
        } catch (e) {
          traceCall('finalize', t0, true);
          await endTrace();
          // a rank that ends (or dies) without finalize leaves the others' finalize without it:
          // say so, instead of only naming the rank that is gone
          if (e instanceof OrchidError && e.code === 'ERR_PEER_LOST' && !/without calling finalize/.test(e.message))
            throw new OrchidError('ERR_PEER_LOST', `${e.message} (it ended without completing finalize: every rank must call finalize)`, { cause: e });
          throw e;
        }
        traceCall('finalize', t0);
        await endTrace(); // orchidrun --trace / --profile: this rank's calls go to the launcher now
        rt.ended = new OrchidError('ERR_FINALIZED', 'finalize() was called on this rank');
        await job.close(rt.ended);
        markFinalized();
      })();
      return finalizing;
    },
  };
  return rt;
}
