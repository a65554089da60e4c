// A program started on its own (no launcher, no MPI process manager) is a world of one: a ws
// world whose engine has no links (every message is a send to itself).
import { hostname as osHostname } from 'node:os';
import { WsBackend } from '../comm/backends/ws.js';
import { Comm } from '../comm/comm.js';
import { newWsWorld } from './join-ws.js';
import { track } from '../comm/pending.js';
import { makeRuntime } from './runtime.js';

export function worldOfOne(): Comm {
  const ws = newWsWorld(0, 1, osHostname());
  const { engine } = ws;
  const be = new WsBackend(ws, 0, [0], 0);
  const rt = makeRuntime({
    failAll: (err) => engine.failAll(err),
    abort: async () => {},
    sync: () => track(be).barrier('finalize'), // seen in the pending-call report as finalize's barrier
    close: () => engine.close(),
  });
  return (rt.world = new Comm(rt, be));
}
