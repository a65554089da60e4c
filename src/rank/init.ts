// init(): join the job the launcher started (ORCHID_* environment), or become a world of
// one when the program was started on its own.
import { execFileSync } from 'node:child_process';
import { hostname as osHostname } from 'node:os';
import { Comm, type Runtime } from '../comm/comm.js';
import { WsBackend } from '../comm/backends/ws.js';
import { OrchidError } from '../errors.js';
import { connectCoordinator, readSecret, watchLauncher, type CoordClient } from './coord-client.js';
import { Engine } from '../transport/engine.js';
import { WsMesh, type PeerAddress } from '../transport/ws/mesh.js';
import { loadAddon } from '../transport/mpi/addon.js';
import { MpiBackend, MpiProcess } from '../comm/backends/mpi.js';

export interface InitOptions {
  /** how long to wait for every rank to join (ms); default ORCHID_INIT_TIMEOUT or 60 s */
  timeoutMs?: number;
}

let world: Promise<Comm> | undefined;

/** Join the job. Called again, returns the same world communicator. */
export function init(options: InitOptions = {}): Promise<Comm> {
  world ??= start(options);
  return world;
}

const EAGER_LIMIT = envInt('ORCHID_EAGER_LIMIT', 64 * 1024);
const WINDOW = envInt('ORCHID_EAGER_WINDOW', 4 * 1024 * 1024);

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new OrchidError('ERR_TRANSPORT', `init: ${name}=${v} is not a non-negative integer`);
  return n;
}

async function start(options: InitOptions): Promise<Comm> {
  const env = process.env;
  if (env.ORCHID_TRANSPORT === 'mpi' || (env.ORCHID_RANK === undefined && mpiLauncher(env) !== undefined)) return startMpi();
  if (env.ORCHID_RANK === undefined) {
    const foreign = Number(env.PMI_SIZE ?? env.SLURM_NTASKS ?? 1);
    if (foreign > 1)
      throw new OrchidError(
        'ERR_TRANSPORT',
        `init: started by srun as one of ${foreign} ranks without orchidrun and without an MPI wire-up orchid can join: ` +
          `start it with srun --mpi=pmi2 (the mpi transport, MPICH addon) or srun --mpi=pmix (Open MPI addon), or inside the allocation with orchidrun (it runs srun for you)`,
      );
    return singleton();
  }
  const rank = Number(env.ORCHID_RANK);
  const size = Number(env.ORCHID_SIZE);
  if (!(Number.isInteger(size) && size > 0 && Number.isInteger(rank) && rank >= 0 && rank < size))
    throw new OrchidError('ERR_RANK', `init: ORCHID_RANK=${env.ORCHID_RANK} / ORCHID_SIZE=${env.ORCHID_SIZE} do not describe a rank of a job`);
  const transport = env.ORCHID_TRANSPORT ?? 'ws';
  if (transport !== 'ws')
    throw new OrchidError('ERR_TRANSPORT', `init: rank ${rank}: transport "${transport}" is not available in this build (only ws)`);
  const coordAddr = env.ORCHID_COORD;
  if (!coordAddr) throw new OrchidError('ERR_TRANSPORT', `init: rank ${rank}: ORCHID_COORD is not set`);
  const host = env.ORCHID_HOST || osHostname();
  const job = env.ORCHID_JOB || 'job';
  const timeoutMs = options.timeoutMs ?? envInt('ORCHID_INIT_TIMEOUT', 60_000);

  const secret = await readSecret();
  watchLauncher(rank);
  const hosts: string[] = new Array(size).fill(host);
  const engine = new Engine({ rank, size, eagerLimit: EAGER_LIMIT, window: WINDOW, hosts });
  const mesh = new WsMesh({ rank, size, job, host, secret, addr: env.ORCHID_ADDR || '127.0.0.1', unix: env.ORCHID_WS_UNIX !== '0' }, engine);
  const me = await mesh.listen();
  let coord: CoordClient;
  try {
    coord = await connectCoordinator({ coord: coordAddr, secret, rank, size, info: me, timeoutMs });
  } catch (e) {
    await mesh.close();
    throw e;
  }
  const table = coord.table as PeerAddress[];
  table.forEach((p, i) => (hosts[i] = p.host));
  mesh.setPeers(table);
  engine.links = mesh;

  const rt = runtime(engine, hosts, {
    failAll: (err) => engine.failAll(err),
    abort: (code, message) => coord.abort(code, message),
    sync: (world) => world.barrier(),
    close: async () => {
      await engine.close(); // closes the mesh
      coord.close();
    },
  });
  coord.on('exit', (peer, code, signal) =>
    engine.peerExited(peer, signal ? `its process was killed by ${signal}` : `its process exited with code ${code}`),
  );
  coord.on('abort', (code, reason) => {
    const err = new OrchidError('ERR_ABORTED', `the job was aborted (code ${code}): ${reason}`);
    rt.ended ??= err;
    engine.failAll(err);
  });
  coord.on('lost', () => {
    process.stderr.write(`orchid: rank ${rank}: lost the connection to the launcher, exiting\n`);
    process.exit(1);
  });
  return (rt.world = new Comm(rt, new WsBackend(rt, 0, Array.from({ length: size }, (_, i) => i), rank)));
}

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
async function startMpi(): Promise<Comm> {
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
  const hosts = [be.hostname];
  const engine = new Engine({ rank: 0, size: 1, eagerLimit: EAGER_LIMIT, window: WINDOW, hosts });
  const rt = runtime(engine, hosts, {
    failAll: (err) => proc.failAll(err),
    abort: async (code, message) => {
      process.stderr.write(`orchid: ${message}\n`);
      addon.abort(code); // MPI_Abort: does not return
    },
    sync: () => be.finalize(),
    close: async (ended) => {
      proc.failAll(ended);
      await engine.close();
    },
  });
  // A program that ends normally without finalize() is finalized here, as with ws (Open MPI
  // otherwise reports an "abnormal termination"); a failing exit is left to mpiexec to report.
  process.on('exit', (code) => {
    if (rt.ended || code !== 0) return;
    try {
      addon.finalize();
    } catch {
      /* exiting anyway */
    }
  });
  return (rt.world = new Comm(rt, be));
}

function singleton(): Comm {
  const host = osHostname();
  const hosts = [host];
  const engine = new Engine({ rank: 0, size: 1, eagerLimit: EAGER_LIMIT, window: WINDOW, hosts });
  const rt = runtime(engine, hosts, {
    failAll: (err) => engine.failAll(err),
    abort: async () => {},
    sync: (world) => world.barrier(),
    close: () => engine.close(),
  });
  return (rt.world = new Comm(rt, new WsBackend(rt, 0, [0], 0)));
}

/** What the runtime needs from the job a rank belongs to (ws, mpi, or a world of one). */
interface Job {
  /** fail every pending operation with `err` */
  failAll(err: Error): void;
  /** end the whole job with `code`; the process exits once it settles (or after 1 s) */
  abort(code: number, message: string): Promise<void>;
  /** finalize: wait until every rank got there */
  sync(world: Comm): Promise<void>;
  /** after finalize: release the transport; `ended` is the error later calls get */
  close(ended: Error): Promise<void>;
}

function runtime(engine: Engine, hosts: string[], job: Job): Runtime {
  let finalizing: Promise<void> | undefined;
  const rt: Runtime = {
    engine,
    hosts,
    nextCtx: 2,
    abort(code, message) {
      const err = new OrchidError('ERR_ABORTED', message);
      rt.ended ??= err;
      job.failAll(err);
      const exit = () => process.exit(code);
      setTimeout(exit, 1000).unref();
      job.abort(code, message).then(exit, exit);
    },
    finalize() {
      finalizing ??= (async () => {
        if (rt.ended) return;
        await job.sync(rt.world!);
        rt.ended = new OrchidError('ERR_FINALIZED', 'finalize() was called on this rank');
        await job.close(rt.ended);
      })();
      return finalizing;
    },
  };
  return rt;
}
