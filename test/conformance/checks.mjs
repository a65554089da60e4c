// The conformance checks: every call and rule of the public API, by area (checks/). Each
// check runs on every rank of a job (any size >= 1) and throws on a violation. The same list
// serves every transport and every launch mode (test/conformance.test.mjs runs it).
// The collectives run three times: on the world, on a dup() of it, and on a split() half
// (ranks by parity, in reverse order), whose ranks and contexts differ from the world's. A
// half of one rank (3 ranks split in two) passes its checks by: a world of one has its own
// row (singleton).
import { agreement } from './checks/agreement.mjs';
import { classes } from './checks/classes.mjs';
import { collectives } from './checks/collectives.mjs';
import { communicators } from './checks/communicators.mjs';
import { errors } from './checks/errors.mjs';
import { groups } from './checks/groups.mjs';
import { identity } from './checks/identity.mjs';
import { nonblocking } from './checks/nonblocking.mjs';
import { p2p } from './checks/p2p.mjs';
import { pool } from './checks/pool.mjs';
import { reduceScatter } from './checks/reduce-scatter.mjs';
import { topology } from './checks/topology.mjs';
import { vector } from './checks/vector.mjs';

/** The collectives that also run on a dup() and a split() half. */
const onComms = [...collectives, ...nonblocking, ...reduceScatter, ...vector];

/** The collectives on a communicator made once per world by `make` (a collective call itself). */
function on(label, make, { skipAlone = false } = {}) {
  const made = new WeakMap();
  const comm = (w) => {
    if (!made.has(w)) made.set(w, make(w));
    return made.get(w);
  };
  return onComms.map(([name, fn]) => [
    `${label}: ${name}`,
    async (w) => {
      const c = await comm(w);
      if (skipAlone && c.size === 1 && w.size > 1) return;
      await fn(c);
    },
  ]);
}

export const checks = [
  ...communicators,
  ...p2p,
  ...onComms,
  ...on('on dup()', (w) => w.dup()),
  ...on('on a split() half', (w) => w.split(w.rank % 2, -w.rank), { skipAlone: true }),
  ...errors,
  ...agreement,
  ...topology,
  ...groups,
  ...identity,
  ...classes,
  ...pool,
];
