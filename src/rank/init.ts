// init(): join the job this process belongs to. How a rank joins depends on who started it:
//   orchidrun (ORCHID_RANK set; ws transport)          -> join-ws.ts
//   an MPI process manager (mpiexec, srun --mpi=...)   -> join-mpi.ts
//   nobody (a program started on its own)              -> singleton.ts, a world of one
import { setWorldRank } from '../codec/index.js';
import type { Comm } from '../comm/comm.js';
import { OrchidError } from '../errors.js';
import { markInitialized } from './lifecycle.js';
import { joinMpi, mpiLauncher } from './join-mpi.js';
import { joinWs } from './join-ws.js';
import { worldOfOne } from './singleton.js';

export interface InitOptions {
  /** how long to wait for every rank to join (ms); default ORCHID_INIT_TIMEOUT or 60 s */
  timeoutMs?: number;
}

let world: Promise<Comm> | undefined;

/** Join the job. Called again, returns the same world communicator. */
export function init(options: InitOptions = {}): Promise<Comm> {
  world ??= start(options).then((w) => {
    setWorldRank(w.rank); // names this process in the errors of values it cannot send
    markInitialized();
    return w;
  });
  return world;
}

async function start(options: InitOptions): Promise<Comm> {
  const env = process.env;
  if (env.ORCHID_TRANSPORT === 'mpi' || (env.ORCHID_RANK === undefined && mpiLauncher(env) !== undefined)) return joinMpi();
  if (env.ORCHID_RANK === undefined) {
    const foreign = Number(env.PMI_SIZE ?? env.SLURM_NTASKS ?? 1);
    if (foreign > 1)
      throw new OrchidError(
        'ERR_TRANSPORT',
        `init: started by srun as one of ${foreign} ranks without orchidrun and without an MPI wire-up orchid can join: ` +
          `start it with srun --mpi=pmi2 (the mpi transport, MPICH addon) or srun --mpi=pmix (Open MPI addon), or inside the allocation with orchidrun (it runs srun for you)`,
      );
    return worldOfOne();
  }
  return joinWs(env, options.timeoutMs);
}
