// A rank of an orchidrun job over the ws transport: the job secret from the launcher's pipe,
// this rank's listeners, registration with the coordinator (which hands out every rank's
// address), then the world communicator over the WebSocket mesh.
import { hostname as osHostname } from 'node:os';
import { WsBackend, type WsWorld } from '../comm/backends/ws.js';
import { Comm } from '../comm/comm.js';
import { OrchidError } from '../errors.js';
import { Engine } from '../transport/engine.js';
import { CONNECT_TIMEOUT_MS, WsMesh, type PeerAddress } from '../transport/ws/mesh.js';
import { connectCoordinator, type CoordClient } from './coord-client.js';
import { describeError, readSecret, report, watchLauncher } from './launcher-pipe.js';
import { track } from '../comm/pending.js';
import { makeRuntime } from './runtime.js';
import { alignClock } from './clock.js';
import { attachTrace } from './trace-ship.js';

// 1 MiB: the RTS/CTS round trip of a rendezvous was ~35 % of a 256 KB message and ~20 % of
// a 1 MB one between two ranks here; the credit window still bounds what a receiver buffers
const EAGER_LIMIT = envInt('ORCHID_EAGER_LIMIT', 1024 * 1024);
const WINDOW = envInt('ORCHID_EAGER_WINDOW', 4 * 1024 * 1024);
/** Jobs of up to this many ranks open every connection during init(), so that no first
 *  message waits for the sender's event loop (ORCHID_EAGER_CONNECT; 0: always lazily). */
export const EAGER_CONNECT_MAX = 64;
/** How long init() waits for those connections before going on (they keep trying). */
export const EAGER_CONNECT_WAIT_MS = 10_000;

function envInt(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new OrchidError('ERR_TRANSPORT', `init: ${name}=${v} is not a non-negative integer`);
  return n;
}

/** The ws world of `size` ranks as this rank sees it: its engine (no links yet) and the ranks' hosts. */
export function newWsWorld(rank: number, size: number, host: string): WsWorld & { hosts: string[] } {
  const hosts: string[] = new Array(size).fill(host);
  return { engine: new Engine({ rank, size, eagerLimit: EAGER_LIMIT, window: WINDOW, hosts }), hosts, nextCtx: 2 };
}

/** Join the job orchidrun started (ORCHID_RANK, ORCHID_SIZE, ORCHID_COORD, ...). */
export async function joinWs(env: NodeJS.ProcessEnv, timeoutMs: number | undefined): Promise<Comm> {
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
  timeoutMs ??= envInt('ORCHID_INIT_TIMEOUT', 60_000);

  const secret = await readSecret();
  watchLauncher(rank);
  const ws = newWsWorld(rank, size, host);
  const { engine, hosts } = ws;
  const eagerMax = envInt('ORCHID_EAGER_CONNECT', EAGER_CONNECT_MAX);
  const connectTimeoutMs = envInt('ORCHID_CONNECT_TIMEOUT', CONNECT_TIMEOUT_MS);
  // A message this rank already reported sent cannot be delivered: the job's result would be
  // wrong, so this rank ends it (its line names the cause; the launcher reports the exit).
  let fatal = (err: OrchidError): void => {
    report({ t: 'error', error: describeError(err) }); // the launcher's summary line names it
    process.stderr.write(`orchid: ${err.name} [${err.code}]: ${err.message}\n`);
    process.exit(1);
  };
  const mesh = new WsMesh(
    { rank, size, job, host, secret, addr: env.ORCHID_ADDR || '127.0.0.1', unix: env.ORCHID_WS_UNIX !== '0', connectTimeoutMs, fatal: (e) => fatal(e) },
    engine,
  );
  const me = await mesh.listen();
  let coord: CoordClient;
  try {
    coord = await connectCoordinator({ coord: coordAddr, secret, rank, size, info: me, timeoutMs });
  } catch (e) {
    await mesh.close();
    throw e;
  }
  await alignClock(() => coord.ping()); // wtime() on the launcher's clock; the trace's time base
  attachTrace(coord, rank, host);
  const table = coord.table as PeerAddress[];
  table.forEach((p, i) => (hosts[i] = p.host));
  mesh.setPeers(table);
  engine.links = mesh;

  const be = new WsBackend(ws, 0, Array.from({ length: size }, (_, i) => i), rank);
  const rt = makeRuntime({
    failAll: (err) => engine.failAll(err),
    abort: (code, message) => coord.abort(code, message),
    sync: () => track(be).barrier('finalize'), // seen in the pending-call report as finalize's barrier
    close: async () => {
      await engine.close(); // closes the mesh
      coord.close();
    },
  });
  coord.on('exit', (peer, code, signal) => {
    const why = signal ? `its process was killed by ${signal}` : `its process exited with code ${code}`;
    mesh.peerExited(peer, why);
    engine.peerExited(peer, why);
  });
  coord.on('abort', (code, reason) => {
    const err = new OrchidError('ERR_ABORTED', `the job was aborted (code ${code}): ${reason}`);
    rt.ended ??= err;
    engine.failAll(err);
  });
  coord.on('lost', () => {
    process.stderr.write(`orchid: rank ${rank}: lost the connection to the launcher, exiting\n`);
    process.exit(1);
  });
  const base = fatal;
  fatal = (err) => {
    rt.ended ??= err;
    engine.failAll(err);
    base(err);
  };
  if (size > 1 && size <= eagerMax) await mesh.connectAll(EAGER_CONNECT_WAIT_MS);
  return (rt.world = new Comm(rt, be));
}
