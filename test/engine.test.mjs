// The ws transport's protocol core in process: Engines (src/transport/engine.ts) and their
// Matchers (matching.ts) over in-memory links (helpers/memory-links.mjs), no sockets and no
// processes. The credit window, rendezvous, collective-error poisoning, peer loss, and
// non-overtaking with wildcards, each checked on the frames that cross the wire.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OrchidError } from '../dist/errors.js';
import { ANY, Matcher } from '../dist/transport/matching.js';
import { COLL_ERROR, CREDIT, CTS, DATA, EAGER, KIND_NAMES, RTS, bytesPacket, recv, settled, textPacket, wire } from './helpers/memory-links.mjs';

const HEADER = 32;
const kinds = (log, from, to) => log.filter((f) => f.from === from && f.to === to).map((f) => KIND_NAMES[f.kind]);

test('credit window: eager bytes unreceived at the peer never exceed the window; past it, rendezvous; credit reopens it', { timeout: 10_000 }, async () => {
  const window = 4096;
  const w = wire(2, { eagerLimit: 1024, window });
  const [a, b] = w.engines;
  const N = 40;
  const size = 200; // 232 bytes with the header: 17 fit the window
  const sends = Array.from({ length: N }, (_, i) => a.send(0, 0, 1, 3, bytesPacket(size, i), 'send'));
  await w.settle();
  const eager = w.log.filter((f) => f.from === 0 && f.kind === EAGER);
  const rts = w.log.filter((f) => f.from === 0 && f.kind === RTS);
  const inFlight = eager.reduce((n, f) => n + f.bytes + HEADER, 0);
  assert.ok(inFlight <= window, `${inFlight} eager bytes sent to a peer that received nothing (window ${window})`);
  assert.equal(eager.length, Math.floor(window / (size + HEADER)), 'the window is used, not only part of it');
  assert.equal(rts.length, N - eager.length, 'the rest wait at the sender (RTS)');
  assert.equal(w.log.filter((f) => f.from === 1).length, 0, 'nothing comes back before a receive takes a message');
  // the eager sends are complete; the rendezvous ones wait for their receives
  assert.equal(await settled(Promise.all(sends.slice(0, eager.length))), true);
  assert.equal(await settled(sends[N - 1]), false);

  for (let i = 0; i < N; i++) {
    const m = await recv(b, { src: 0, tag: 3 });
    assert.equal(m.packet.bytes[0], i, `message ${i} in order`);
    assert.equal(m.packet.bytes.length, size);
  }
  await Promise.all(sends);
  await w.settle();
  const credit = w.log.filter((f) => f.from === 1 && f.kind === CREDIT);
  assert.ok(credit.length >= 1, 'the receiver returned credit');
  assert.ok(credit.every((f) => f.h.id >= window / 4), 'credit goes back in batches of at least a quarter window');
  // with the credit back, small messages go eagerly again
  const before = w.log.length;
  await a.send(0, 0, 1, 4, bytesPacket(size), 'send');
  assert.deepEqual(w.log.slice(before).map((f) => KIND_NAMES[f.kind]), ['EAGER']);
  assert.equal((await recv(b, { src: 0, tag: 4 })).bytes, size);
});

test('rendezvous: RTS, then CTS once a receive takes it, then DATA; the send resolves only after that', { timeout: 10_000 }, async () => {
  const w = wire(2, { eagerLimit: 1024 });
  const [a, b] = w.engines;
  const payload = Buffer.alloc(100_000).map((_, i) => i % 251);
  const sent = a.send(0, 0, 1, 9, { elem: 2, bytes: payload }, 'send');
  await w.settle();
  assert.deepEqual(kinds(w.log, 0, 1), ['RTS']);
  assert.equal(w.log[0].h.length, payload.length, 'the RTS announces the length');
  assert.equal(w.log[0].bytes, 0, 'the RTS carries no payload');
  assert.equal(await settled(sent), false, 'a large send waits for the receiver');
  const probe = await recv(b, { src: ANY, tag: ANY, from: [0], peek: true });
  assert.deepEqual([probe.src, probe.tag, probe.bytes], [0, 9, payload.length], 'a probe sees the RTS');
  const got = await recv(b, { src: 0, tag: 9 });
  await sent;
  assert.deepEqual(kinds(w.log, 0, 1), ['RTS', 'DATA']);
  assert.deepEqual(kinds(w.log, 1, 0), ['CTS']);
  assert.ok(got.packet.bytes.equals(payload), 'the payload arrives byte for byte');
  assert.equal(w.log.find((f) => f.kind === DATA).h.id, w.log.find((f) => f.kind === CTS).h.id, 'DATA answers its CTS');
});

test('a collective error poisons its step on the other members: posted and later receives, sends, parked rendezvous', { timeout: 10_000 }, async () => {
  const w = wire(2);
  const [a, b] = w.engines;
  const CTX = 1;
  const failedStep = recv(b, { ctx: CTX, src: 0, tag: 5 });
  const otherStep = recv(b, { ctx: CTX, src: 0, tag: 6 });
  const parked = b.send(CTX, 1, 0, 5, bytesPacket(5000), 'allreduce'); // RTS, never answered
  for (const p of [failedStep, parked]) p.catch(() => {}); // they fail while the wire settles; checked below
  await w.settle();
  a.collError(CTX, 5, [0, 1], new OrchidError('ERR_COUNT', 'allreduce: lengths differ'));
  await w.settle();
  assert.deepEqual(kinds(w.log, 0, 1), ['COLL_ERROR']);
  const check = (e) => {
    assert.ok(e instanceof OrchidError);
    assert.equal(e.code, 'ERR_COUNT');
    assert.match(e.message, /^allreduce: lengths differ \(reported by rank 0 on h0\)$/);
    assert.equal(b.isRemoteError(e), true, 'marked remote, so it is not reported again');
    return true;
  };
  await assert.rejects(failedStep, check);
  await assert.rejects(parked, check);
  await assert.rejects(recv(b, { ctx: CTX, src: 0, tag: 5 }), check, 'a later receive on the step fails at once');
  await assert.rejects(b.send(CTX, 1, 0, 5, textPacket('x'), 'allreduce'), check, 'so does a send');
  // other steps and other contexts are untouched
  assert.equal(await settled(otherStep), false);
  await a.send(CTX, 0, 1, 6, textPacket('next step'), 'allreduce');
  assert.equal((await otherStep).packet.bytes.toString(), 'next step');
  await a.send(0, 0, 1, 5, textPacket('p2p'), 'send');
  assert.equal((await recv(b, { ctx: 0, src: 0, tag: 5 })).packet.bytes.toString(), 'p2p');
  // a TypeError arrives as a TypeError
  const typed = recv(a, { ctx: CTX, src: 1, tag: 7 });
  b.collError(CTX, 7, [0, 1], new TypeError('reduce: bitwise op on floats'));
  await assert.rejects(typed, (e) => e instanceof TypeError && /bitwise op on floats \(reported by rank 1/.test(e.message));
  assert.equal(w.log.filter((f) => f.kind === COLL_ERROR).length, 2);
});

test('peer loss: receives only that peer could satisfy fail, wildcard ones once every sender is gone; sends fail at once', { timeout: 10_000 }, async () => {
  const w = wire(3);
  const [e0] = w.engines;
  const from1 = recv(e0, { src: 1, tag: 0 });
  const fromAny = recv(e0, { src: ANY, tag: ANY, from: [1, 2] });
  const parked = e0.send(0, 0, 1, 0, bytesPacket(5000), 'send'); // RTS to rank 1
  await w.settle();
  w.cut(0, 1, 'its process exited with code 0');
  const lost = (e) => e instanceof OrchidError && e.code === 'ERR_PEER_LOST' && /rank 0 lost rank 1 on h1: its process exited with code 0/.test(e.message);
  await assert.rejects(from1, lost);
  await assert.rejects(parked, lost);
  await assert.rejects(e0.send(0, 0, 1, 0, textPacket('late'), 'send'), lost);
  assert.equal(e0.isLost(1), true);
  assert.equal(await settled(fromAny), false, 'rank 2 may still send');
  w.cut(0, 2);
  await assert.rejects(fromAny, (e) => e.code === 'ERR_PEER_LOST');
});

test('peer loss with a connection from the peer still open: sends fail, receives wait for what it sent', { timeout: 10_000 }, async () => {
  const w = wire(2);
  const [a, b] = w.engines;
  w.inbound[1].add(0); // rank 1 still has rank 0's connection open
  b.lost(0, 'outbound link failed');
  await assert.rejects(b.send(0, 1, 0, 0, textPacket('x'), 'send'), (e) => e.code === 'ERR_PEER_LOST');
  assert.equal(b.isLost(0), false);
  const pending = recv(b, { src: 0, tag: 2 });
  await a.send(0, 0, 1, 2, textPacket('sent before leaving'), 'send');
  assert.equal((await pending).packet.bytes.toString(), 'sent before leaving');
  const waiting = recv(b, { src: 0, tag: 2 });
  w.inbound[1].delete(0);
  b.lost(0, 'connection closed');
  await assert.rejects(waiting, (e) => e.code === 'ERR_PEER_LOST');
});

test('non-overtaking: eager and rendezvous messages of one sender and tag keep their order, also for wildcard receives', { timeout: 10_000 }, async () => {
  const w = wire(3, { eagerLimit: 1024, window: 1 << 20 });
  const [, , r] = w.engines;
  // ranks 0 and 1 each send 30 messages to rank 2 on tags 0..2, some large (rendezvous)
  const plan = [];
  for (const src of [0, 1]) for (let i = 0; i < 30; i++) plan.push({ src, tag: i % 3, i, big: i % 7 === 3 });
  // some receives are posted before anything arrives, of every shape
  const early = [
    recv(r, { src: ANY, tag: ANY, from: [0, 1] }),
    recv(r, { src: 0, tag: 1 }),
    recv(r, { src: ANY, tag: 2, from: [0, 1] }),
    recv(r, { src: 1, tag: ANY }),
  ];
  const sends = plan.map((m) => {
    const bytes = Buffer.alloc(m.big ? 5000 : 16);
    bytes.writeUInt16LE(m.i, 0);
    bytes.writeUInt8(m.src, 2);
    return w.engines[m.src].send(0, m.src, 2, m.tag, { elem: 2, bytes }, 'send');
  });
  await w.settle();
  // the rest by wildcard receives, posted once everything has arrived
  const late = Array.from({ length: plan.length - early.length }, () => recv(r, { src: ANY, tag: ANY, from: [0, 1] }));
  const got = await Promise.all([...early, ...late]);
  await Promise.all(sends);
  const seen = new Map();
  for (const m of got) {
    const i = m.packet.bytes.readUInt16LE(0);
    const src = m.packet.bytes.readUInt8(2);
    assert.equal(src, m.src);
    const k = `${m.src}/${m.tag}`;
    assert.ok((seen.get(k) ?? -1) < i, `message ${i} from ${k} overtook ${seen.get(k)}`);
    seen.set(k, i);
  }
  assert.equal(got.length, plan.length, 'every message received once');
  // the early receives got the first matching messages of their shape
  const [anyAny, src0tag1, anyTag2, src1Any] = got;
  assert.deepEqual([anyAny.src, anyAny.packet.bytes.readUInt16LE(0)], [0, 0]);
  assert.deepEqual([src0tag1.src, src0tag1.tag, src0tag1.packet.bytes.readUInt16LE(0)], [0, 1, 1]);
  assert.deepEqual([anyTag2.src, anyTag2.tag, anyTag2.packet.bytes.readUInt16LE(0)], [0, 2, 2]);
  assert.deepEqual([src1Any.src, src1Any.packet.bytes.readUInt16LE(0)], [1, 0]);
});

test('matcher: posted receives match in posting order, queued messages in arrival order, a probe takes nothing', { timeout: 10_000 }, () => {
  const m = new Matcher();
  const taken = [];
  const post = (src, tag, peek = false) => m.post({ ctx: 0, src, tag, peek, call: 'recv', from: [0, 1], resolve: (a) => taken.push([src, tag, peek, a.src, a.tag, a.bytes]), reject: assert.fail });
  const arrive = (src, tag, bytes) => m.arrive({ ctx: 0, src, tag, bytes, elem: 0, peer: src, packet: { elem: 0, bytes: Buffer.alloc(bytes) } });
  post(ANY, 4);
  post(ANY, ANY, true);
  post(1, ANY);
  arrive(1, 4, 10); // the first posted receive takes it; the probe, later in line, does not see it
  arrive(1, 5, 11); // the probe sees it and leaves it; post(1, ANY), behind it, takes it
  arrive(0, 6, 12); // queued
  arrive(0, 6, 13); // queued behind it
  assert.deepEqual(taken, [[ANY, 4, false, 1, 4, 10], [ANY, ANY, true, 1, 5, 11], [1, ANY, false, 1, 5, 11]]);
  assert.equal(m.peek(0, ANY, 6).bytes, 12);
  post(0, 6, true);
  post(ANY, ANY);
  post(0, 6);
  assert.deepEqual(taken.slice(3), [[0, 6, true, 0, 6, 12], [ANY, ANY, false, 0, 6, 12], [0, 6, false, 0, 6, 13]]);
  assert.equal(m.peek(0, ANY, ANY), undefined);
  assert.equal(m.pendingCount(), 0);
});

test('a failed collective step drops what arrived for it and what arrives later, returning the eager credit', () => {
  const m = new Matcher();
  let credited = 0;
  const arrival = (tag) => ({ ctx: 1, src: 0, tag, bytes: 4, elem: 0, peer: 0, packet: bytesPacket(4), consumed: () => credited++ });
  m.arrive(arrival(7));
  m.arrive(arrival(8));
  m.poison(1, 7, new OrchidError('ERR_COUNT', 'step 7 failed'));
  assert.equal(credited, 1, 'the queued message of the failed step gave its credit back');
  assert.equal(m.peek(1, ANY, 7), undefined);
  assert.ok(m.peek(1, ANY, 8), 'other steps keep their messages');
  m.arrive(arrival(7));
  assert.equal(credited, 2, 'a late message of the failed step is dropped at once');
  assert.equal(m.peek(1, ANY, 7), undefined);
});
