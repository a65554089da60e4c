// Conformance checks, this process: processorName, isInitialized, isFinalized (program.mjs
// checks isFinalized() after finalize).
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { isFinalized, isInitialized } from 'orchid-mpi';

export const identity = [
  ['identity: processorName is the hostname; isInitialized, not isFinalized', async (w) => {
    assert.equal(w.processorName, hostname());
    assert.equal((await w.dup()).processorName, hostname());
    const names = await w.allgather(w.processorName);
    const hosts = await w.allgather(w.hostname);
    // ranks on one host report one processor name, as they report one hostname
    for (const i of names.keys()) for (const j of names.keys()) if (hosts[i] === hosts[j]) assert.equal(names[i], names[j]);
    assert.equal(isInitialized(), true);
    assert.equal(isFinalized(), false);
  }],
];
