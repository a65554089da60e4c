// A rank started by an MPI process manager (mpiexec, directly or through orchidrun --transport
// mpi, or srun --mpi=pmi2/pmix) joins over the native addon: MPI_Init in the addon, the world
// communicator over MPI_COMM_WORLD. A rank that cannot join ends the whole job, not just itself.
import { execFileSync } from 'node:child_process';
import { MpiBackend } from '../comm/backends/mpi.js';
import { Comm } from '../comm/comm.js';
import { OrchidError } from '../errors.js';
import { loadAddon } from '../transport/mpi/addon.js';
import { MpiProcess } from '../transport/mpi/process.js';
import { makeRuntime } from './runtime.js';
import { traceModes } from '../comm/trace.js';
import { alignClock } from './clock.js';
import { connectCoordinator, type CoordClient } from './coord-client.js';
import { attachTrace } from './trace-ship.js';

/**
 * Which MPI's process manager started this process, from its environment, and the job size it
 * announced. `srun` is Slurm itself acting as the process manager (tasks started by
 * `srun --mpi=pmi2`, which MPICH's PMI-1 client joins, or `srun --mpi=pmix`, which Open MPI's
 * does); orchidrun's own srun-started proxies and ranks set ORCHID_RANK and never get here.
 */
export function mpiLauncher(env: NodeJS.ProcessEnv): { flavor: 'mpich' | 'openmpi'; size: number; rank: number; via: 'mpiexec' | 'srun' } | undefined {
  if (env.OMPI_COMM_WORLD_SIZE !== undefined)
    return { flavor: 'openmpi', size: Number(env.OMPI_COMM_WORLD_SIZE), rank: Number(env.OMPI_COMM_WORLD_RANK), via: 'mpiexec' };
  if (env.PMI_SIZE !== undefined && env.PMI_RANK !== undefined) {
    // Hydra sets PMI_RANK/PMI_SIZE/PMI_FD; Slurm's mpi/pmi2 plugin also PMI_JOBID (job.step)
    if (env.SLURM_PROCID === undefined) return { flavor: 'mpich', size: Number(env.PMI_SIZE), rank: Number(env.PMI_RANK), via: 'mpiexec' };
    if (env.PMI_JOBID !== undefined) return { flavor: 'mpich', size: Number(env.PMI_SIZE), rank: Number(env.PMI_RANK), via: 'srun' };
  }
  if (env.PMIX_RANK !== undefined) {
    // Slurm's mpi/pmix plugin sets PMIX_RANK but no PMIX_SIZE: the size is the step's
    const srun = env.SLURM_PROCID !== undefined && env.PMIX_NAMESPACE?.startsWith('slurm.') === true;
    return { flavor: 'openmpi', size: Number(env.PMIX_SIZE ?? (srun ? env.SLURM_STEP_NUM_TASKS ?? env.SLURM_NTASKS : undefined) ?? NaN), rank: Number(env.PMIX_RANK), via: srun ? 'srun' : 'mpiexec' };
  }
  return undefined;
}

/**
 * A rank that fails before MPI_Init leaves the others waiting in MPI_Init for ever (Hydra does
 * not end a job whose process exits before joining PMI; measured with a C program too). So
 * under an mpiexec, the process that started this rank (Hydra's proxy, Open MPI's daemon) is
 * told to stop, which ends the whole job (the error is on stderr first); under srun (whose
 * slurmstepd is the parent) the job step is cancelled.
 */
function failBeforeMpiInit(via: 'mpiexec' | 'srun' | undefined, err: OrchidError): OrchidError {
  if (via) {
    process.stderr.write(`orchid: ${err.message}\n`); // synchronous on pipes and files
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300); // let the proxy relay it
    try {
      // under srun the parent is slurmstepd: end the job step instead
      if (via === 'srun') execFileSync('scancel', [`${process.env.SLURM_JOB_ID}.${process.env.SLURM_STEP_ID}`], { stdio: 'ignore', timeout: 10_000 });
      else if (process.ppid > 1) process.kill(process.ppid, 'SIGKILL'); // SIGTERM is not enough for Hydra's proxy
    } catch {
      /* already gone */
    }
  }
  return err;
}

const FLAVOR_NAME = { mpich: 'MPICH', openmpi: 'Open MPI', unknown: 'an unknown MPI' };

/** Join a job started by mpiexec (directly, or by orchidrun --transport mpi) or by srun --mpi=pmi2/pmix over the native addon. */
export async function joinMpi(): Promise<Comm> {
  const env = process.env;
  const { addon, error } = loadAddon();
  const launcher = mpiLauncher(env);
  if (!addon) throw failBeforeMpiInit(launcher?.via, new OrchidError('ERR_TRANSPORT', `init: the mpi transport is not available: ${error}`));
  if (launcher && addon.flavor !== 'unknown' && launcher.flavor !== addon.flavor)
    throw failBeforeMpiInit(launcher.via, new OrchidError(
      'ERR_TRANSPORT',
      launcher.via === 'srun'
        ? `init: rank ${launcher.rank}: this process was started by srun --mpi=${env.SLURM_MPI_TYPE ?? (launcher.flavor === 'mpich' ? 'pmi2' : 'pmix')}, which ${FLAVOR_NAME[addon.flavor]} (the orchid addon's MPI) cannot join; ` +
            `start it with srun --mpi=${addon.flavor === 'mpich' ? 'pmi2' : 'pmix'} or with orchidrun --transport mpi`
        : `init: rank ${launcher.rank}: this process was started by ${FLAVOR_NAME[launcher.flavor]}'s mpiexec, but the orchid addon is built against ${FLAVOR_NAME[addon.flavor]}; ` +
            `start it with ${addon.flavor === 'mpich' ? 'mpiexec.mpich (or mpiexec.hydra)' : 'mpiexec.openmpi'} or with orchidrun --transport mpi`,
    ));
  const proc = new MpiProcess(addon);
  const be = new MpiBackend(proc, 0);
  const expected = launcher?.size ?? Number(env.ORCHID_SIZE ?? NaN);
  if (Number.isInteger(expected) && expected !== be.size) {
    const msg = `init: rank ${launcher?.rank ?? '?'}: the launcher started ${expected} ranks but MPI sees a world of ${be.size}: the ${launcher?.via === 'srun' ? 'srun --mpi plugin' : 'mpiexec'} does not match the MPI the addon was built against (${FLAVOR_NAME[addon.flavor]}); use ${launcher?.via === 'srun' ? `srun --mpi=${addon.flavor === 'openmpi' ? 'pmix' : 'pmi2'}` : addon.flavor === 'openmpi' ? 'mpiexec.openmpi' : 'mpiexec.mpich'} or orchidrun --transport mpi`;
    process.stderr.write(`orchid: ${msg}\n`);
    addon.abort(3);
    throw new OrchidError('ERR_TRANSPORT', msg);
  }
  // finalize's own communicator (MpiBackend.finalize)
  const life = await proc.wait<number | null>(addon.split(0, 0, be.rank, false));
  const coord = await traceConnection(env, be.rank, be.size, be.hostname);
  const rt = makeRuntime({
    failAll: (err) => proc.failAll(err),
    abort: async (code, message) => {
      process.stderr.write(`orchid: ${message}\n`);
      addon.abort(code); // MPI_Abort: does not return
    },
    sync: () => be.finalize(life!),
    close: async (ended) => {
      proc.failAll(ended);
      coord?.close();
    },
  });
  // A program that ends normally without finalize() is finalized here, as with ws (Open MPI
  // otherwise reports an "abnormal termination"); a failing exit is left to mpiexec to report.
  // It first takes part in the finalize agreement (blocking: the event loop is over), so the
  // ranks that called finalize() learn it left without it instead of waiting for ever.
  process.on('exit', (code) => {
    if (rt.ended || code !== 0) return;
    try {
      if (!be.agreed) addon.leave(life!, new Int32Array(be.size));
      addon.finalize();
    } catch {
      /* exiting anyway */
    }
  });
  return (rt.world = new Comm(rt, be));
}

/**
 * orchidrun --transport mpi with --trace / --profile / --live: the launcher runs a coordinator
 * for the trace (ORCHID_COORD, its key in ORCHID_TRACE_KEY, passed in mpiexec's environment,
 * never on its command line). This rank registers there, aligns its clock to the launcher's
 * and ships its calls there as on ws. Without it (plain mpiexec, or no such flag) nothing.
 */
async function traceConnection(env: NodeJS.ProcessEnv, rank: number, size: number, host: string): Promise<CoordClient | undefined> {
  if (!traceModes || !env.ORCHID_COORD || !env.ORCHID_TRACE_KEY) return undefined;
  const coord = await connectCoordinator({
    coord: env.ORCHID_COORD,
    secret: Buffer.from(env.ORCHID_TRACE_KEY, 'base64'),
    rank,
    size,
    info: null,
    timeoutMs: Number(env.ORCHID_INIT_TIMEOUT) > 0 ? Number(env.ORCHID_INIT_TIMEOUT) : 60_000,
  });
  coord.on('lost', () => {}); // the job goes on without its trace (mpiexec owns the ranks' lives)
  await alignClock(() => coord.ping());
  attachTrace(coord, rank, host);
  return coord;
}
