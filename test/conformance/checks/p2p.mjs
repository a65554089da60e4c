// Conformance checks, point to point: send/recv of every kind of value, typed arrays and
// large messages, completion, sends to self, wildcards, non-overtaking, isend/irecv, probes,
// recvInto, sendrecv.
import assert from 'node:assert/strict';
import { ANY_SOURCE, ANY_TAG, waitAll, waitAny } from 'orchid-mpi';
import { range, rejects } from './common.mjs';

export const p2p = [
  ['send/recv: values of every kind round the ring', async (w) => {
    const values = [42, -1.5, 2n ** 70n, -7n, 'héllo', true, null, undefined, [1, [2, 3]], { a: { b: [1, 'x'] } },
      new Map([[1, 'a'], ['k', { v: 2 }]]), new Set([1, 'two']), new Date(1700000000000), new Uint8Array([1, 2, 3]),
      { nested: new Float64Array([1.5, 2.5]) }];
    const right = (w.rank + 1) % w.size;
    const left = (w.rank - 1 + w.size) % w.size;
    for (const [i, v] of values.entries()) {
      const [, got] = await Promise.all([w.send(v, right, i), w.recv(left, i)]);
      assert.deepEqual(got, v, `value #${i}`);
    }
  }],

  ['send/recv: typed arrays arrive as the same kind', async (w) => {
    const kinds = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array];
    const right = (w.rank + 1) % w.size;
    const left = (w.rank - 1 + w.size) % w.size;
    for (const [i, K] of kinds.entries()) {
      const big = K === BigInt64Array || K === BigUint64Array;
      const a = K.from(range(17), (x) => (big ? BigInt(x + w.rank) : x + w.rank));
      const [, got] = await Promise.all([w.send(a, right, i), w.recv(left, i)]);
      assert.ok(got instanceof K, `${K.name} arrived as ${got?.constructor?.name}`);
      assert.deepEqual(Array.from(got), Array.from(K.from(range(17), (x) => (big ? BigInt(x + left) : x + left))));
    }
    const buf = Buffer.from('orchid');
    const [, b] = await Promise.all([w.send(buf, right, 99), w.recv(left, 99)]);
    assert.ok(Buffer.isBuffer(b));
    assert.equal(b.toString(), 'orchid');
    // a subarray sends only its own elements
    const sub = new Float64Array([9, 1, 2, 3, 9]).subarray(1, 4);
    const [, s] = await Promise.all([w.send(sub, right, 100), w.recv(left, 100)]);
    assert.deepEqual(Array.from(s), [1, 2, 3]);
  }],

  ['send/recv: large typed arrays and values (rendezvous)', async (w) => {
    const right = (w.rank + 1) % w.size;
    const left = (w.rank - 1 + w.size) % w.size;
    const n = 1 << 20; // 8 MB
    const a = new Float64Array(n).map((_, i) => i * 0.5 + w.rank);
    const [, got] = await Promise.all([w.send(a, right, 7), w.recv(left, 7)]);
    assert.equal(got.length, n);
    assert.equal(got[n - 1], (n - 1) * 0.5 + left);
    assert.equal(got.byteOffset % 8, 0);
    const obj = { list: range(100000).map((i) => ({ i })) };
    const [, o] = await Promise.all([w.send(obj, right, 8), w.recv(left, 8)]);
    assert.equal(o.list.length, 100000);
    assert.equal(o.list[99999].i, 99999);
  }],

  ['send: resolves when the value may be reused', async (w) => {
    const right = (w.rank + 1) % w.size;
    const left = (w.rank - 1 + w.size) % w.size;
    for (const n of [4, 1 << 18]) {
      const a = new Int32Array(n).fill(w.rank);
      const r = w.irecv(left, 5);
      await w.send(a, right, 5);
      a.fill(-1); // must not change what the peer gets
      const { data } = await r.wait();
      assert.ok(data.every((x) => x === left), `n=${n}`);
    }
  }],

  ['send to self', async (w) => {
    const a = new Float32Array([1, 2, 3]);
    await w.send(a, w.rank, 3);
    a[0] = 99;
    const got = await w.recv(w.rank, 3);
    assert.deepEqual(Array.from(got), [1, 2, 3]);
    const r = w.irecv(w.rank, 4);
    await w.send({ me: w.rank }, w.rank, 4);
    assert.deepEqual((await r.wait()).data, { me: w.rank });
  }],

  ['recvMessage, ANY_SOURCE and ANY_TAG', async (w) => {
    if (w.rank !== 0) await w.send(`from ${w.rank}`, 0, 10 + w.rank);
    else {
      const seen = new Set();
      for (let i = 1; i < w.size; i++) {
        const m = await w.recvMessage(ANY_SOURCE, ANY_TAG);
        assert.equal(m.data, `from ${m.source}`);
        assert.equal(m.tag, 10 + m.source);
        seen.add(m.source);
      }
      assert.equal(seen.size, w.size - 1);
    }
    await w.barrier();
  }],

  ['non-overtaking: order kept per sender and tag, tags select', async (w) => {
    const N = 200;
    if (w.rank !== 0) {
      const sends = [];
      for (let i = 0; i < N; i++) sends.push(w.send(i % 2 ? new Uint8Array(i) : { i }, 0, i % 2));
      // a large one in the middle of small ones must not be overtaken either
      sends.push(w.send(new Float64Array(100000).fill(w.rank), 0, 5), w.send('after', 0, 5));
      await Promise.all(sends);
    } else {
      for (let src = 1; src < w.size; src++) {
        for (let i = 1; i < N; i += 2) assert.equal((await w.recv(src, 1)).length, i);
        for (let i = 0; i < N; i += 2) assert.deepEqual(await w.recv(src, 0), { i });
        assert.equal((await w.recv(src, 5))[0], src);
        assert.equal(await w.recv(src, 5), 'after');
      }
    }
    await w.barrier();
  }],

  ['isend/irecv, test() never blocks, waitAll', async (w) => {
    const right = (w.rank + 1) % w.size;
    const left = (w.rank - 1 + w.size) % w.size;
    const q = w.irecv(left, 21);
    assert.equal(q.test(), undefined); // nothing sent yet: the peers wait for the barrier
    await w.barrier();
    const r = w.isend([w.rank], right, 21);
    const [, m] = await waitAll([r, q]);
    assert.deepEqual(m.data, [left]);
    assert.equal(m.source, left);
    assert.deepEqual(q.test().data, [left]);
    assert.ok(r.done && q.done);
  }],

  ['probe and iprobe', async (w) => {
    const right = (w.rank + 1) % w.size;
    const left = (w.rank - 1 + w.size) % w.size;
    await w.barrier(); // the left peer may not send before this rank looked
    assert.equal(w.iprobe(left, 31), undefined);
    await w.barrier();
    await w.send(new Int16Array(6), right, 31);
    const st = await w.probe(left, 31);
    assert.deepEqual(st, { source: left, tag: 31, bytes: 12 });
    assert.deepEqual(w.iprobe(ANY_SOURCE, ANY_TAG), { source: left, tag: 31, bytes: 12 });
    assert.equal((await w.recv(left, 31)).length, 6); // probe did not consume it
    assert.equal(w.iprobe(left, 31), undefined);
    await w.barrier();
  }],

  ['large messages: sizes at the transports\' limits, order kept, wildcards, probed sizes', async (w) => {
    const right = (w.rank + 1) % w.size;
    const left = (w.rank - 1 + w.size) % w.size;
    // around the mpi transport's one-message limit (8 KiB) and the ws eager limit (64 KiB)
    const sizes = [8184, 8191, 8192, 8193, 8196, 8200, 8201, 65535, 65536, 65537, 300001];
    const fill = (s) => (s * 7) & 0xff;
    const sends = sizes.map((s) => w.isend(new Uint8Array(s).fill(fill(s)), right, 51));
    const st = await w.probe(left, 51);
    assert.deepEqual(st, { source: left, tag: 51, bytes: sizes[0] });
    for (const [i, s] of sizes.entries()) {
      if (s > 60000) assert.deepEqual(await w.probe(ANY_SOURCE, 51), { source: left, tag: 51, bytes: s }, `probe before the ${s}-byte message`);
      const got = i % 2 ? await w.recv(ANY_SOURCE, 51) : await w.recv(left, ANY_TAG);
      assert.ok(got instanceof Uint8Array, `size ${s}`);
      assert.equal(got.length, s, `message ${i} out of order or resized`);
      assert.equal(got.byteLength, got.buffer.byteLength, `size ${s}: not its own buffer`);
      assert.ok(got[0] === fill(s) && got[s - 1] === fill(s), `size ${s}: wrong content`);
    }
    await waitAll(sends);
    // receives posted before the messages: matched in posting order
    const recvs = [w.irecv(left, 52), w.irecv(left, 52), w.irecv(ANY_SOURCE, ANY_TAG)];
    await w.barrier();
    const parts = [new Float64Array(50000).fill(1), new Float64Array(70000).fill(2), new Int32Array(9000).fill(3)];
    await waitAll([...parts.map((p, i) => w.isend(p, right, i < 2 ? 52 : 53)), ...recvs]);
    const got = await Promise.all(recvs.map((r) => r.wait()));
    assert.deepEqual(got.map((m) => [m.data.constructor.name, m.data.length, m.data[0], m.tag]), [
      ['Float64Array', 50000, 1, 52],
      ['Float64Array', 70000, 2, 52],
      ['Int32Array', 9000, 3, 53],
    ]);
    await w.barrier(); // a faster rank's next check must not feed this one's wildcard receive
  }],

  ['non-overtaking under load: mixed sizes to random peers, wildcard and specific receives', async (w) => {
    // every rank derives every rank's plan (dest, tag, length) from a seeded generator
    const gen = (seed) => () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const sizes = [2, 100, 1020, 1024, 1030, 2048, 5000, 70000]; // Float64 elements
    const plans = range(w.size).map((r) => {
      const rnd = gen(777 + r * 7919);
      return range(100).map(() => ({ dest: Math.floor(rnd() * w.size), tag: 60 + Math.floor(rnd() * 3), len: sizes[Math.floor(rnd() * sizes.length)] }));
    });
    const sends = plans[w.rank].map((m, i) => {
      const a = new Float64Array(m.len);
      a[0] = i;
      a[m.len - 1] = w.rank * 1e6 + i;
      return w.isend(a, m.dest, m.tag);
    });
    const left = [60, 61, 62].map((t) => plans.reduce((n, p) => n + p.filter((m) => m.dest === w.rank && m.tag === t).length, 0));
    let todo = left.reduce((a, b) => a + b, 0);
    const last = new Map();
    const rnd = gen(4242 + w.rank);
    while (todo > 0) {
      // a batch is all wildcards or all specific tags with a message reserved for each
      const wild = rnd() < 0.5;
      const batch = [];
      for (let j = 1 + Math.floor(rnd() * 4); j > 0; j--) {
        const t = Math.floor(rnd() * 3);
        if (wild && batch.length < todo) batch.push(w.irecv(ANY_SOURCE, ANY_TAG));
        else if (!wild && left[t] > 0) (left[t]--, batch.push(w.irecv(ANY_SOURCE, 60 + t)));
      }
      for (const m of await Promise.all(batch.map((q) => q.wait()))) {
        const i = m.data[0];
        const key = `${m.source}/${m.tag}`;
        assert.ok((last.get(key) ?? -1) < i, `rank ${w.rank}: message ${i} from ${key} after ${last.get(key)}`);
        assert.equal(m.data[m.data.length - 1], m.source * 1e6 + i, `message ${i} from ${key}: wrong payload`);
        last.set(key, i);
        if (wild) left[m.tag - 60]--;
        todo--;
      }
    }
    await waitAll(sends);
    await w.barrier(); // as above: wildcard receives
  }],

  ['recvInto: into the caller\'s typed array, kind and size checked, the message consumed on error', async (w) => {
    const right = (w.rank + 1) % w.size;
    const left = (w.rank - 1 + w.size) % w.size;
    for (const n of [3, 5000, 200000]) {
      const buf = new Float64Array(n + 7).fill(-1);
      const sent = new Float64Array(n).fill(w.rank + 0.5);
      const [, m] = await Promise.all([w.send(sent, right, 71), w.recvInto(buf, left, 71)]);
      assert.deepEqual([m.source, m.tag, m.data.length], [left, 71, n]);
      assert.ok(m.data.buffer === buf.buffer && m.data.byteOffset === 0, `n=${n}: not a view of the caller's buffer`);
      assert.ok(buf[0] === left + 0.5 && buf[n - 1] === left + 0.5 && buf[n] === -1, `n=${n}: wrong content`);
    }
    // a view with an offset, and ANY_SOURCE/ANY_TAG
    const big = new Int32Array(70010).fill(-1);
    const [, v] = await Promise.all([w.send(new Int32Array(70000).fill(7), right, 72), w.recvInto(big.subarray(10), ANY_SOURCE, ANY_TAG)]);
    assert.ok(v.data.byteOffset === 40 && v.data.length === 70000 && big[9] === -1 && big[10] === 7 && big[70009] === 7);
    // errors: the message is consumed, the next one arrives in order
    const bad = [
      [new Float64Array(20000), () => new Float64Array(100), 'ERR_COUNT', /20000 elements.*holds 100/],
      [new Float64Array(10), () => new Float64Array(5), 'ERR_COUNT', /10 elements.*holds 5/],
      [new Float32Array(20000), () => new Float64Array(30000), 'TypeError', /got a Float32Array .* for a Float64Array buffer/],
      [{ a: 1 }, () => new Float64Array(4), 'TypeError', /got a value/],
    ];
    for (const [value, make, code, re] of bad) {
      const [, e] = await Promise.all([w.send(value, right, 73), w.recvInto(make(), left, 73).then(() => null, (x) => x)]);
      await rejects(Promise.reject(e), code, re);
    }
    assert.equal(w.iprobe(left, 73), undefined, 'a rejected message was left behind');
    await rejects(w.recvInto([1, 2], left, 74), 'TypeError', /recvInto: the buffer must be a TypedArray/);
    await w.barrier();
  }],

  ['sendrecv', async (w) => {
    const right = (w.rank + 1) % w.size;
    const left = (w.rank - 1 + w.size) % w.size;
    const got = await w.sendrecv(w.rank * 10, right, left, 41, 41);
    assert.equal(got, left * 10);
    const big = await w.sendrecv(new Float64Array(300000).fill(w.rank), right, left, 42, 42);
    assert.equal(big[299999], left);
  }],

  ['waitAny: an empty list rejects with ERR_ARG (it could never settle)', async (w) => {
    await rejects(waitAny([]), 'ERR_ARG', /^waitAny: no requests/);
    const r = w.irecv(w.rank, 31);
    await w.send('me', w.rank, 31);
    const got = await waitAny([r]);
    assert.equal(got.index, 0);
    assert.equal(got.value.data, 'me');
  }],
];
