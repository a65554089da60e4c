// Conformance checks, the vector collectives: gatherv, allgatherv and alltoallv with counts
// and displacements into one buffer of the element kind (MPI's buffer semantics), and their
// errors (ERR_COUNT naming the call and the rank, on every member where it can be seen before
// data moves; ERR_COLLECTIVE against the call they are built on). checks.mjs also runs them
// on a dup() and a split() half.
import assert from 'node:assert/strict';
import { range, rejects } from './common.mjs';

/** rank i sends i + 1 elements of value 10 i + j */
const mine = (C, r) => C.from(range(r + 1), (j) => 10 * r + j);
const counts = (n) => range(n).map((i) => i + 1);
const prefix = (cs) => cs.map((_, i) => cs.slice(0, i).reduce((a, b) => a + b, 0));

export const vector = [
  ['gatherv: counts, default and explicit displacements, every root, one buffer', async (w) => {
    const n = w.size, r = w.rank;
    const cs = counts(n);
    for (let root = 0; root < n; root++) {
      const got = await w.gatherv(mine(Float64Array, r), r === root ? { counts: cs } : undefined, root);
      if (r !== root) assert.equal(got, undefined);
      else {
        assert.ok(got instanceof Float64Array);
        assert.deepEqual(Array.from(got), range(n).flatMap((i) => Array.from(mine(Float64Array, i))));
      }
    }
    // displacements in reverse rank order with a gap of 2 before each block
    const displs = [];
    for (let i = n - 1, off = 0; i >= 0; i--) (off += 2), (displs[i] = off), (off += cs[i]);
    const got = await w.gatherv(mine(Int16Array, r), { counts: cs, displs }, 0);
    if (r === 0) {
      assert.ok(got instanceof Int16Array);
      assert.equal(got.length, Math.max(...displs.map((d, i) => d + cs[i])));
      for (let i = 0; i < n; i++) assert.deepEqual(Array.from(got.subarray(displs[i], displs[i] + cs[i])), Array.from(mine(Int16Array, i)));
      assert.equal(got[displs[n - 1] - 1], 0, 'gaps are zero');
    }
    // zero counts and a Buffer
    const z = await w.gatherv(Buffer.alloc(r % 2, r), { counts: range(n).map((i) => i % 2) }, 0);
    if (r === 0) assert.ok(Buffer.isBuffer(z) && z.length === n >> 1);
  }],

  ['allgatherv: every rank gets the one buffer', async (w) => {
    const n = w.size, r = w.rank;
    const cs = counts(n);
    const got = await w.allgatherv(mine(Uint32Array, r), { counts: cs });
    assert.ok(got instanceof Uint32Array);
    assert.deepEqual(Array.from(got), range(n).flatMap((i) => Array.from(mine(Uint32Array, i))));
    const displs = prefix(cs).map((d, i) => d + i); // one free element after each block
    const spaced = await w.allgatherv(mine(Float32Array, r), { counts: cs, displs: Int32Array.from(displs) });
    for (let i = 0; i < n; i++) assert.deepEqual(Array.from(spaced.subarray(displs[i], displs[i] + cs[i])), Array.from(mine(Float32Array, i)));
    const big = await w.allgatherv(new Float64Array(40000).fill(r), { counts: range(n).map(() => 40000) });
    assert.equal(big.length, 40000 * n);
    assert.equal(big[40000 * n - 1], n - 1);
  }],

  ['alltoallv: send blocks by counts/displs, receive blocks into one buffer', async (w) => {
    const n = w.size, r = w.rank;
    // rank r sends d + 1 elements to rank d: values 1000 r + 10 d + j
    const scounts = range(n).map((d) => d + 1);
    const sdispls = prefix(scounts);
    const send = new Int32Array(scounts.reduce((a, b) => a + b, 0));
    for (let d = 0; d < n; d++) for (let j = 0; j < scounts[d]; j++) send[sdispls[d] + j] = 1000 * r + 10 * d + j;
    // rank r receives r + 1 elements from each, laid out in reverse source order
    const rcounts = range(n).map(() => r + 1);
    const rdispls = range(n).map((s) => (n - 1 - s) * (r + 1));
    const got = await w.alltoallv(send, { counts: scounts, displs: sdispls }, { counts: rcounts, displs: rdispls });
    assert.ok(got instanceof Int32Array);
    assert.equal(got.length, n * (r + 1));
    for (let s = 0; s < n; s++) assert.deepEqual(Array.from(got.subarray(rdispls[s], rdispls[s] + r + 1)), range(r + 1).map((j) => 1000 * s + 10 * r + j));
    assert.equal(send[0], 10 * 0 + 1000 * r, 'the send buffer was modified');
    // default displacements, one element each way (the same elements may go to several ranks)
    const one = await w.alltoallv(Float64Array.of(r), { counts: range(n).map(() => 1), displs: range(n).map(() => 0) }, { counts: range(n).map(() => 1) });
    assert.deepEqual(Array.from(one), range(n));
  }],

  ['vector collectives: errors name the call and the rank, on every member', async (w) => {
    const n = w.size, r = w.rank;
    const cs = counts(n);
    await rejects(w.allgatherv([1, 2], { counts: cs }), 'TypeError', /allgatherv: the buffer must be a TypedArray/);
    await rejects(w.allgatherv(mine(Float64Array, r), { counts: [...cs, 1] }), 'ERR_COUNT', /allgatherv: the receive spec.counts must be/);
    await rejects(w.allgatherv(mine(Float64Array, r), undefined), 'ERR_COUNT', /allgatherv/);
    await rejects(w.gatherv(mine(Float64Array, r), { counts: cs }, n), 'ERR_ROOT', /gatherv/);
    // the root without counts: its ERR_COUNT on every rank (elsewhere it names the root)
    await rejects(w.gatherv(mine(Float64Array, r), r === 0 ? undefined : { counts: cs }, 0), 'ERR_COUNT', r === 0 ? /gatherv: the receive spec must be/ : /gatherv.*rank 0/);
    await rejects(w.alltoallv(new Float64Array(1), { counts: range(n).map(() => 2) }, { counts: range(n).map(() => 2) }), 'ERR_COUNT', /alltoallv: the send blocks span/);
    if (n > 1) {
      // one rank's length differs from its count: ERR_COUNT everywhere, naming that rank
      const len = r === n - 1 ? n + 1 : r + 1;
      await rejects(w.allgatherv(new Float64Array(len), { counts: cs }), 'ERR_COUNT', new RegExp(`allgatherv: rank ${n - 1} (sends ${n + 1} elements|failed)`));
      // overlapping receive blocks
      await rejects(w.allgatherv(mine(Float64Array, r), { counts: cs, displs: range(n).map(() => 0) }), 'ERR_COUNT', /overlap/);
      // the receiver's counts disagree with what a sender sent: MPI's truncation error, at the receiver
      const rc = range(n).map(() => 1);
      const wrong = w.alltoallv(new Int8Array(n), { counts: range(n).map(() => 1) }, { counts: r === 0 ? rc.map((x, i) => (i === n - 1 ? 2 : x)) : rc });
      if (r === 0) await rejects(wrong, 'ERR_COUNT', new RegExp(`alltoallv: rank ${n - 1} sent 1 elements to rank 0, whose counts\\[${n - 1}\\] is 2`));
      else assert.equal((await wrong).length, n);
      // the kind must be the same everywhere
      const kinds = w.allgatherv(r === 0 ? Float64Array.of(1) : Int32Array.of(1), { counts: range(n).map(() => 1) });
      await rejects(kinds, 'TypeError', /allgatherv: rank \d+ sent a (Int32Array|Float64Array)/);
      // built on allgather, but never matched with one
      await rejects(r === 0 ? w.allgatherv(Float64Array.of(1), { counts: range(n).map(() => 1) }) : w.allgather(Float64Array.of(1)), 'ERR_COLLECTIVE', /allgatherv\(\)[^]*allgather\(\)|allgather\(\)[^]*allgatherv\(\)/);
      await rejects(r === 0 ? w.gatherv(Float64Array.of(1), { counts: range(n).map(() => 1) }, 0) : w.gather(Float64Array.of(1), 0), 'ERR_COLLECTIVE', /gatherv\(root 0\)/);
    }
    assert.equal(await w.allreduce(1, 'sum'), n, 'the communicator still works');
  }],
];
