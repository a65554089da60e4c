// What the conformance checks share.
import assert from 'node:assert/strict';
import { OrchidError } from 'orchid-mpi';

export const range = (n) => Array.from({ length: n }, (_, i) => i);
export const sum = (n) => (n * (n - 1)) / 2;

/** Assert `p` rejects with an OrchidError of `code` (or a TypeError when code is 'TypeError'). */
export async function rejects(p, code, re) {
  await assert.rejects(p, (e) => {
    if (code === 'TypeError') assert.ok(e instanceof TypeError, `expected TypeError, got ${e}`);
    else {
      assert.ok(e instanceof OrchidError, `expected OrchidError ${code}, got ${e}`);
      assert.equal(e.code, code, e.message);
    }
    if (re) assert.match(e.message, re);
    return true;
  });
}
