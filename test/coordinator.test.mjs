// Coordinator server and rank-side client, in process: registration, the table, aborts,
// exits, and authentication both ways.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, connect } from 'node:net';
import { test } from 'node:test';
import { Coordinator } from 'orchid-mpi/launcher';
import { connectCoordinator } from '../dist/rank/coord-client.js';

const secret = randomBytes(32);
const join = (coord, rank, size, extra = {}) =>
  connectCoordinator({ coord, secret, rank, size, info: { host: 'h', rank }, timeoutMs: 5000, ...extra });
const next = (client, event) => new Promise((resolve) => client.on(event, (...args) => resolve(args)));

test('register, table, abort to the launcher, exits and aborts to the ranks', async () => {
  const coord = new Coordinator({ secret, size: 3 });
  const addr = await coord.start();
  assert.match(addr, /^127\.0\.0\.1:\d+$/);
  const clients = await Promise.all([2, 0, 1].map((r) => join(addr, r, 3)));
  for (const c of clients) assert.deepEqual(c.table, [0, 1, 2].map((rank) => ({ host: 'h', rank })));
  const [c2, c0, c1] = clients;

  const aborted = new Promise((resolve) => coord.once('abort', (...a) => resolve(a)));
  await c1.abort(5, 'bad input');
  assert.deepEqual(await aborted, [1, 5, 'bad input']);

  const exitSeen = next(c0, 'exit');
  coord.rankExited(2, 3, null);
  assert.deepEqual(await exitSeen, [2, 3, null]);

  const a0 = next(c0, 'abort');
  const a1 = next(c1, 'abort');
  coord.abortAll(5, 'rank 1 called abort(5)');
  assert.deepEqual(await a0, [5, 'rank 1 called abort(5)']);
  assert.deepEqual(await a1, [5, 'rank 1 called abort(5)']);

  c2.close();
  let lost = false;
  c0.on('lost', () => (lost = true));
  await coord.close();
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(lost, false, "after an abort, the coordinator going away is not 'lost'");
  c0.close();
  c1.close();
});

test("a client with a wrong proof is closed and never sees the table; the others still get it", async () => {
  const coord = new Coordinator({ secret, size: 2 });
  const addr = await coord.start();
  const wrong = join(addr, 0, 2, { secret: randomBytes(32) });
  await assert.rejects(wrong, (e) => e.code === 'ERR_AUTH' && /closed the connection during authentication/.test(e.message));

  // a raw client that says anything else first is closed without a word
  const [host, port] = addr.split(':');
  const raw = connect({ host, port: Number(port) });
  let got = '';
  raw.setEncoding('utf8').on('data', (s) => (got += s));
  raw.write('{"t":"register","rank":1,"nonce":"AAAAAAAAAAAAAAAAAAAAAA==","proof":"AAAA"}\n');
  await new Promise((r) => raw.on('close', r));
  assert.equal(got.trim().split('\n').length, 1); // only the hello
  assert.match(got, /"t":"hello"/);
  assert.equal(coord.registered, 0);

  const good = await Promise.all([join(addr, 0, 2), join(addr, 1, 2)]);
  assert.equal(good[0].table.length, 2);
  for (const c of good) c.close();
  await coord.close();
});

test('a fake coordinator that cannot prove the secret is refused (ERR_AUTH)', async () => {
  const fake = createServer((sock) => {
    sock.write(JSON.stringify({ t: 'hello', nonce: randomBytes(16).toString('base64') }) + '\n');
    sock.on('data', () => {
      sock.write(JSON.stringify({ t: 'welcome', proof: randomBytes(32).toString('base64') }) + '\n');
      sock.write(JSON.stringify({ t: 'table', peers: [{}] }) + '\n');
    });
  });
  await new Promise((r) => fake.listen(0, '127.0.0.1', r));
  await assert.rejects(join(`127.0.0.1:${fake.address().port}`, 0, 1), (e) => e.code === 'ERR_AUTH' && /failed to prove the job secret/.test(e.message));
  fake.close();
});

test('init-failed, timeout and connection errors', async () => {
  const coord = new Coordinator({ secret, size: 3 });
  const addr = await coord.start();
  const registered = new Promise((r) => coord.once('register', r));
  const waiting = join(addr, 0, 3);
  await registered; // rank 0 is in, waiting for the table
  coord.rankExited(2, 1, null);
  await assert.rejects(waiting, (e) => e.code === 'ERR_PEER_LOST' && /rank 2 exited with code 1 before the job finished init\(\)/.test(e.message));
  // a rank that registers later hears it at once
  await assert.rejects(join(addr, 1, 3), (e) => e.code === 'ERR_PEER_LOST');
  await coord.close();

  const slow = new Coordinator({ secret, size: 2 });
  const a2 = await slow.start();
  await assert.rejects(join(a2, 0, 2, { timeoutMs: 300 }), (e) => e.code === 'ERR_TIMEOUT' && /waiting for the peer table/.test(e.message));
  await slow.close();

  await assert.rejects(join(a2, 0, 2), (e) => e.code === 'ERR_TRANSPORT' && e.message.includes(a2));
  await assert.rejects(join('nonsense', 0, 2), (e) => e.code === 'ERR_TRANSPORT');
});

test("a client sees 'lost' when the coordinator vanishes without an abort", async () => {
  const coord = new Coordinator({ secret, size: 1 });
  const c = await join(await coord.start(), 0, 1);
  const lost = next(c, 'lost');
  const keepAlive = setTimeout(() => {}, 5000); // the client's socket is unref'd by design
  await coord.close();
  await lost;
  clearTimeout(keepAlive);
});
