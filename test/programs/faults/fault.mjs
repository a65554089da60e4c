// Rank program for test/faults.test.mjs: one fault per mode (argv[2]). Every rank prints
// `pid P ppid Q` first (ppid: its proxy), so the test can check that nothing is left alive.
import { ANY_SOURCE, init, isOrchidError, OrchidError } from 'orchid-mpi';

// `node --test test/` runs every .mjs under test/ as a test file: nothing to do then.
if (process.env.ORCHID_RANK === undefined) process.exit(0);

const rank = Number(process.env.ORCHID_RANK);
const size = Number(process.env.ORCHID_SIZE);
const [mode, ...args] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const forever = () => setInterval(() => {}, 1 << 30);
const say = (text) => process.stdout.write(`${text}\n`);

say(`pid ${process.pid} ppid ${process.ppid} rank ${rank}`);
if (process.env.FAULT_SAY_JOB) say(`job ${process.env.ORCHID_JOB}`);

/** The tag on which the other ranks tell the failing one they are in place. */
const READY = 999;
/** The failing rank waits until every other rank said it is in place (instead of a guess of time). */
async function othersReady(world) {
  for (let i = 1; i < size; i++) await world.recv(ANY_SOURCE, READY);
}

switch (mode) {
  case 'throw-in-recv': {
    // rank F throws after init; the others block in recv(F)
    const f = Number(args[0]);
    const world = await init();
    if (rank === f) {
      await othersReady(world); // every other rank has posted its recv
      throw new Error(`boom from rank ${rank} after init`);
    }
    say(`rank ${rank} waiting in recv(${f})`);
    const r = world.recv(f);
    await world.send('ready', f, READY);
    await r;
    say(`rank ${rank} unexpectedly received`);
    break;
  }
  case 'throw-in-coll': {
    // rank F throws after init; the others block in a collective (allreduce) that needs it
    const f = Number(args[0]);
    const world = await init();
    if (rank === f) {
      await othersReady(world);
      throw new Error(`boom from rank ${rank} in place of allreduce`);
    }
    say(`rank ${rank} waiting in allreduce`);
    await world.send('ready', f, READY); // and then it enters the allreduce
    await world.allreduce(new Float64Array(1024).fill(rank), 'sum');
    say(`rank ${rank} unexpectedly finished allreduce`);
    break;
  }
  case 'crash-before-init': {
    // rank F exits with CODE before init; the others are in init
    const [f, code] = args.map(Number);
    if (rank === f) {
      await sleep(300); // the others are inside init() by now
      process.exit(code);
    }
    say(`rank ${rank} entering init`);
    await init();
    say(`rank ${rank} unexpectedly finished init`);
    forever();
    break;
  }
  case 'early-exit': {
    // rank F leaves with code 0 right after init (no finalize); rank 0 waits in recv(F)
    const f = Number(args[0]);
    const world = await init();
    if (rank === f) process.exit(0);
    try {
      const v = await world.recv(f);
      say(`rank ${rank} unexpectedly received ${JSON.stringify(v)}`);
      process.exit(5);
    } catch (e) {
      say(`rank ${rank} caught ${JSON.stringify({ name: e.name, code: e.code, message: e.message, orchid: e instanceof OrchidError && isOrchidError(e) })}`);
      process.exit(0);
    }
    break;
  }
  case 'throw-own': {
    // rank F throws an error with own properties (ARGS[1]: orchid | assert); the others block in
    // recv(F) and let their ERR_PEER_LOST go uncaught too (victims)
    const f = Number(args[0]);
    const world = await init();
    if (rank === f) {
      await othersReady(world);
      if (args[1] === 'assert') (await import('node:assert/strict')).deepEqual({ a: 1 }, { a: 2 });
      await world.send(1, size + 5); // OrchidError ERR_RANK
    }
    const r = world.recv(f);
    await world.send('ready', f, READY);
    await r;
    break;
  }
  case 'leave-early': {
    // rank F exits with code 0 after init without finalize; the others' recv(F) fails (uncaught)
    const f = Number(args[0]);
    const world = await init();
    if (rank === f) {
      await othersReady(world);
      process.exit(0);
    }
    const r = world.recv(f);
    await world.send('ready', f, READY);
    await r;
    break;
  }
  case 'pending': {
    // rank 0 idles, rank 1 waits in recv(2, 5), rank 2 in finalize, rank 3 in a synchronous loop
    // (rank 3 starts its loop once the others told it they are in place)
    const world = await init();
    await world.barrier();
    if (rank !== 3) say(`rank ${rank} in place`);
    if (rank === 0) {
      await world.send('ready', 3, READY);
      forever();
    } else if (rank === 1) {
      const r = world.recv(2, 5);
      await world.send('ready', 3, READY);
      await r;
    } else if (rank === 2) {
      await world.send('ready', 3, READY);
      await world.finalize();
    } else {
      await othersReady(world);
      say(`rank ${rank} in place`);
      const end = Date.now() + Number(args[0] ?? 60) * 1000;
      while (Date.now() < end);
    }
    break;
  }
  case 'abort': {
    // rank F calls abort(CODE) while the others wait in barrier
    const [f, code] = args.map(Number);
    const world = await init();
    if (rank === f) {
      await othersReady(world);
      world.abort(code);
      forever(); // abort ends the process
    } else {
      say(`rank ${rank} waiting in barrier`);
      await world.send('ready', f, READY); // and then it enters the barrier
      await world.barrier();
      say(`rank ${rank} unexpectedly passed the barrier`);
    }
    break;
  }
  case 'block': {
    // everyone joins, then blocks: ranks 0..n-2 in a barrier the last rank never enters,
    // the last rank in a recv nobody answers
    const world = await init();
    await world.barrier(); // all connected and past init
    if (rank === size - 1) {
      say(`rank ${rank} blocked in recv`);
      await world.recv(ANY_SOURCE, 12345);
    } else {
      say(`rank ${rank} blocked in barrier`);
      await world.barrier();
    }
    say(`rank ${rank} unexpectedly unblocked`);
    break;
  }
  case 'finalized': {
    // init twice -> the same communicator; after finalize, send -> ERR_FINALIZED
    const p1 = init();
    const p2 = init();
    const world = await p1;
    const again = await init();
    const report = { rank, samePromise: p1 === p2, sameComm: world === (await p2) && world === again };
    await world.barrier();
    await world.finalize();
    const errs = {};
    for (const [name, call] of [
      ['send', () => world.send(1, (rank + 1) % size)],
      ['recv', () => world.recv()],
      ['barrier', () => world.barrier()],
    ]) {
      try {
        await call();
        errs[name] = 'no error';
      } catch (e) {
        errs[name] = { name: e.name, code: e.code, message: e.message, orchid: e instanceof OrchidError };
      }
    }
    try {
      world.isend(1, (rank + 1) % size);
      errs.isend = 'no error';
    } catch (e) {
      errs.isend = { name: e.name, code: e.code, message: e.message, orchid: e instanceof OrchidError };
    }
    report.errs = errs;
    report.afterInit = (await init()) === world;
    say(`report ${JSON.stringify(report)}`);
    break;
  }
  default:
    console.error(`fault.mjs: unknown mode ${mode}`);
    process.exit(99);
}
