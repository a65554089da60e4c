// The conformance checks: every call and rule of the public API. Each check runs on every
// rank of a job (any size >= 1) and throws on a violation. The same file serves every
// transport and every launch mode (test/conformance.test.mjs runs it).
import assert from 'node:assert/strict';
import { ANY_SOURCE, ANY_TAG, OrchidError, waitAll } from 'orchid-mpi';

const range = (n) => Array.from({ length: n }, (_, i) => i);
const sum = (n) => (n * (n - 1)) / 2;

/** Assert `p` rejects with an OrchidError of `code` (or a TypeError when code is 'TypeError'). */
async function rejects(p, code, re) {
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

export const checks = [
  ['init: rank, size, hostname', async (w) => {
    assert.ok(Number.isInteger(w.rank) && w.rank >= 0 && w.rank < w.size);
    assert.equal(typeof w.hostname, 'string');
    assert.ok(w.hostname.length > 0);
    if (process.env.ORCHID_SIZE) assert.equal(w.size, Number(process.env.ORCHID_SIZE));
  }],

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

  ['barrier: nobody leaves before everyone arrived', async (w) => {
    if (w.rank === 0) await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    await w.barrier();
    if (w.rank !== 0 && w.size > 1) assert.ok(Date.now() - t0 >= 100, 'left the barrier before rank 0 arrived');
  }],

  ['bcast from every root, values and typed arrays', async (w) => {
    for (let root = 0; root < w.size; root++) {
      const v = await w.bcast(w.rank === root ? { root, s: 'x'.repeat(100) } : undefined, root);
      assert.deepEqual(v, { root, s: 'x'.repeat(100) });
      const a = await w.bcast(w.rank === root ? new Int32Array(200000).fill(root) : undefined, root);
      assert.ok(a instanceof Int32Array);
      assert.equal(a[199999], root);
    }
  }],

  ['scatter: Array, even typed split, counts', async (w) => {
    for (let root = 0; root < w.size; root++) {
      const v = await w.scatter(w.rank === root ? range(w.size).map((i) => ({ i, root })) : undefined, root);
      assert.deepEqual(v, { i: w.rank, root });
    }
    const ta = await w.scatter(w.rank === 0 ? Float64Array.from(range(w.size * 3)) : undefined, 0);
    assert.ok(ta instanceof Float64Array);
    assert.deepEqual(Array.from(ta), [w.rank * 3, w.rank * 3 + 1, w.rank * 3 + 2]);
    const counts = range(w.size).map((i) => i + 1);
    const total = counts.reduce((a, b) => a + b, 0);
    const part = await w.scatter(w.rank === 0 ? Int32Array.from(range(total)) : undefined, 0, { counts });
    const start = counts.slice(0, w.rank).reduce((a, b) => a + b, 0);
    assert.deepEqual(Array.from(part), range(w.rank + 1).map((i) => start + i));
  }],

  ['gather and allgather: values, typed arrays as views of one buffer', async (w) => {
    for (let root = 0; root < w.size; root++) {
      const g = await w.gather({ r: w.rank }, root);
      if (w.rank === root) assert.deepEqual(g, range(w.size).map((r) => ({ r })));
      else assert.equal(g, undefined);
    }
    const tg = await w.gather(new Float64Array([w.rank, w.rank]), 0);
    if (w.rank === 0) {
      assert.equal(tg.length, w.size);
      for (const [i, p] of tg.entries()) {
        assert.ok(p instanceof Float64Array);
        assert.deepEqual(Array.from(p), [i, i]);
        assert.equal(p.buffer, tg[0].buffer, 'parts share one ArrayBuffer');
      }
    }
    const ag = await w.allgather(new Uint16Array(w.rank + 1).fill(w.rank));
    for (const [i, p] of ag.entries()) {
      assert.ok(p instanceof Uint16Array);
      assert.equal(p.length, i + 1);
      assert.ok(p.every((x) => x === i));
      assert.equal(p.buffer, ag[0].buffer);
    }
    assert.deepEqual(await w.allgather(`r${w.rank}`), range(w.size).map((r) => `r${r}`));
  }],

  ['alltoall: values and typed arrays', async (w) => {
    const got = await w.alltoall(range(w.size).map((d) => ({ from: w.rank, to: d })));
    assert.deepEqual(got, range(w.size).map((s) => ({ from: s, to: w.rank })));
    const t = await w.alltoall(range(w.size).map((d) => new Int32Array([w.rank * 100 + d])));
    for (const [s, p] of t.entries()) {
      assert.equal(p[0], s * 100 + w.rank);
      assert.equal(p.buffer, t[0].buffer);
    }
    await rejects(w.alltoall([1]), w.size === 1 ? undefined : 'ERR_COUNT').catch(() => {});
  }],

  ['reduce and allreduce: builtin ops on numbers, bigints, arrays, typed arrays', async (w) => {
    const n = w.size;
    const r = w.rank;
    assert.equal(await w.allreduce(r + 1, 'sum'), (n * (n + 1)) / 2);
    assert.equal(await w.allreduce(r + 1, 'prod'), range(n).reduce((a, i) => a * (i + 1), 1));
    assert.equal(await w.allreduce(r, 'min'), 0);
    assert.equal(await w.allreduce(r, 'max'), n - 1);
    assert.equal(await w.allreduce(BigInt(r), 'sum'), BigInt(sum(n)));
    assert.equal(await w.allreduce(r === 0 ? 1 : 1, 'land'), 1);
    assert.equal(await w.allreduce(r === 0 ? 1 : 0, 'lor'), 1);
    assert.equal(await w.allreduce(1, 'lxor'), n % 2);
    assert.equal(await w.allreduce(1 << r, 'bor'), (1 << n) - 1);
    assert.equal(await w.allreduce(0xff, 'band'), 0xff);
    assert.equal(await w.allreduce(1 << r, 'bxor'), (1 << n) - 1);
    assert.deepEqual(await w.allreduce([r, 1, -r], 'sum'), [sum(n), n, -sum(n)]);
    const t = await w.allreduce(new Float64Array([r, 2 * r, 1]), 'sum');
    assert.ok(t instanceof Float64Array);
    assert.deepEqual(Array.from(t), [sum(n), 2 * sum(n), n]);
    const i32 = await w.allreduce(new Int32Array([r, -r]), 'max');
    assert.deepEqual(Array.from(i32), [n - 1, 0]);
    for (let root = 0; root < n; root++) {
      const red = await w.reduce(new Float32Array([r, 1]), 'sum', root);
      if (r === root) assert.deepEqual(Array.from(red), [sum(n), n]);
      else assert.equal(red, undefined);
      assert.equal(await w.reduce(r, 'max', root), r === root ? n - 1 : undefined);
    }
  }],

  ['allreduce: large typed arrays (ring), input untouched, identical everywhere', async (w) => {
    for (const len of [1 << 17, (1 << 17) + 3]) {
      const a = new Float64Array(len).map((_, i) => i + w.rank);
      const out = await w.allreduce(a, 'sum');
      assert.equal(out.length, len);
      for (const i of [0, 1, len >> 1, len - 1]) assert.equal(out[i], i * w.size + sum(w.size));
      assert.equal(a[1], 1 + w.rank, 'input was modified');
      const mx = await w.allreduce(new Int32Array(len).fill(w.rank), 'max');
      assert.ok(mx.every((x) => x === w.size - 1));
    }
  }],

  ['custom reduction functions apply in rank order', async (w) => {
    const cat = (a, b) => a + b;
    const expected = range(w.size).map((r) => String.fromCharCode(97 + r)).join('');
    const me = String.fromCharCode(97 + w.rank);
    assert.equal(await w.allreduce(me, cat), expected);
    for (let root = 0; root < w.size; root++) {
      const red = await w.reduce(me, cat, root);
      assert.equal(red, w.rank === root ? expected : undefined);
    }
    assert.equal(await w.scan(me, cat), expected.slice(0, w.rank + 1));
    assert.equal(await w.exscan(me, cat), w.rank === 0 ? undefined : expected.slice(0, w.rank));
    // matrices: 2x2 products do not commute
    const mul = (a, b) => [a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3]];
    const mats = range(w.size).map((r) => [1, r + 1, 0, 1 + (r % 2)]);
    const want = mats.reduce((a, b) => mul(a, b));
    assert.deepEqual(await w.allreduce(mats[w.rank], mul), want);
  }],

  ['scan and exscan', async (w) => {
    assert.equal(await w.scan(w.rank + 1, 'sum'), ((w.rank + 1) * (w.rank + 2)) / 2);
    assert.equal(await w.exscan(w.rank + 1, 'sum'), w.rank === 0 ? undefined : (w.rank * (w.rank + 1)) / 2);
    const t = await w.scan(new Int32Array([1, w.rank]), 'sum');
    assert.deepEqual(Array.from(t), [w.rank + 1, sum(w.rank + 1)]);
    assert.equal(await w.scan(w.rank, 'max'), w.rank);
  }],

  ['split, dup: new contexts, own ranks, no cross-talk', async (w) => {
    const color = w.rank % 2;
    const sub = await w.split(color, -w.rank); // key reverses the order
    const members = range(w.size).filter((r) => r % 2 === color);
    assert.equal(sub.size, members.length);
    assert.equal(sub.rank, members.length - 1 - members.indexOf(w.rank));
    assert.equal(await sub.allreduce(1), members.length);
    const d = await w.dup();
    assert.equal(d.size, w.size);
    assert.equal(d.rank, w.rank);
    // the same tag on two communicators: each recv gets its own communicator's message
    const right = (w.rank + 1) % w.size;
    const left = (w.rank - 1 + w.size) % w.size;
    await Promise.all([w.send('world', right, 1), d.send('dup', right, 1)]);
    assert.equal(await d.recv(left, 1), 'dup');
    assert.equal(await w.recv(left, 1), 'world');
    const none = await w.split(w.rank === 0 ? -1 : 0);
    if (w.rank === 0) assert.equal(none, null);
    else assert.equal(none.size, w.size - 1);
    const nested = await sub.dup();
    assert.equal(await nested.allreduce(w.rank), members.reduce((a, b) => a + b, 0));
  }],

  ['splitShared groups the ranks of a host', async (w) => {
    const node = await w.splitShared();
    const hosts = await w.allgather(w.hostname);
    const mine = hosts.filter((h) => h === w.hostname).length;
    assert.equal(node.size, mine);
    assert.equal(node.hostname, w.hostname);
    if (process.env.ORCHID_LOCAL_SIZE) {
      assert.equal(node.size, Number(process.env.ORCHID_LOCAL_SIZE));
      assert.equal(node.rank, Number(process.env.ORCHID_LOCAL_RANK));
    }
  }],

  ['collective traffic never matches a user recv', async (w) => {
    const q = w.irecv(ANY_SOURCE, ANY_TAG);
    await w.bcast(w.rank === 0 ? 'coll' : undefined, 0);
    await w.allreduce(1);
    await w.barrier();
    assert.equal(q.test(), undefined, 'a collective message matched the user recv');
    await w.send('p2p', w.rank, 77);
    assert.equal((await q.wait()).data, 'p2p');
  }],

  ['errors: bad rank, tag and root name the call', async (w) => {
    await rejects(w.send(1, w.size), 'ERR_RANK', /send: .*rank/);
    await rejects(w.send(1, -1), 'ERR_RANK');
    await rejects(w.recv(1.5), 'ERR_RANK', /recv/);
    await rejects(w.send(1, 0, -3), 'ERR_TAG', /send: tag -3/);
    await rejects(w.send(1, 0, 2 ** 31), 'ERR_TAG');
    await rejects(w.recv(0, 'x'), 'ERR_TAG');
    assert.throws(() => w.isend(1, 0, -1), (e) => e.code === 'ERR_TAG' && /isend/.test(e.message));
    assert.throws(() => w.irecv(w.size), (e) => e.code === 'ERR_RANK' && /irecv/.test(e.message));
    assert.throws(() => w.iprobe(w.size + 3), (e) => e.code === 'ERR_RANK');
    await rejects(w.bcast(1, w.size), 'ERR_ROOT', /bcast: root/);
    await rejects(w.reduce(1, 'sum', -1), 'ERR_ROOT');
    await rejects(w.gather(1, w.size + 1), 'ERR_ROOT');
    await rejects(w.scatter([], 99), 'ERR_ROOT');
  }],

  ['errors: a value that cannot be encoded is a TypeError before anything is sent', async (w) => {
    const right = (w.rank + 1) % w.size;
    await rejects(w.send(() => 1, right, 51), 'TypeError', /send/);
    await rejects(w.send({ f: () => 1 }, right, 51), 'TypeError', /send/);
    await rejects(w.send(Symbol('s'), right, 51), 'TypeError', /send/);
    assert.throws(() => w.isend(() => 1, right, 51), TypeError);
    await w.barrier();
    assert.equal(w.iprobe(ANY_SOURCE, 51), undefined, 'something was sent');
  }],

  ['errors: reduction ops', async (w) => {
    await rejects(w.allreduce(new Float64Array([1]), 'band'), 'TypeError', /allreduce/);
    await rejects(w.allreduce(1.5, 'bxor'), 'TypeError', /allreduce/);
    await rejects(w.allreduce(1, 'nope'), 'TypeError', /allreduce/);
    await rejects(w.reduce('str', 'sum'), 'TypeError', /reduce/);
    await w.barrier();
  }],

  ['errors: mismatched typed-array lengths in allreduce reach every rank', async (w) => {
    if (w.size === 1) return;
    for (const base of [4, 1 << 15]) {
      const len = w.rank === w.size - 1 ? base + 1 : base;
      await rejects(w.allreduce(new Float64Array(len), 'sum'), 'ERR_COUNT', /allreduce/);
    }
    // the communicator still works afterwards for point to point
    const right = (w.rank + 1) % w.size;
    const left = (w.rank - 1 + w.size) % w.size;
    const [, v] = await Promise.all([w.send('ok', right, 61), w.recv(left, 61)]);
    assert.equal(v, 'ok');
  }],

  ['errors: scatter counts', async (w) => {
    if (w.size === 1) return;
    const d = await w.dup();
    await rejects(d.scatter(w.rank === 0 ? new Float64Array(w.size + 1) : undefined, 0), 'ERR_COUNT', /scatter/);
    const d2 = await w.dup();
    await rejects(d2.scatter(w.rank === 0 ? [1] : undefined, 0), 'ERR_COUNT', /scatter/);
  }],
];
