// The job secret guards every door: a rank's mesh port refuses anyone who cannot prove it,
// and nothing such a client sends reaches the program (the engine's `frame` is never
// called). Real WsMesh objects, real sockets, in process; then the coordinator port; then
// a real job, checking the secret appears in no command line or environment.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { get } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { Coordinator } from 'orchid-mpi/launcher';
import { connectCoordinator } from '../dist/rank/coord-client.js';
import { proof } from '../dist/transport/auth.js';
import { WsMesh } from '../dist/transport/ws/mesh.js';
import { ACCEPT, CHALLENGE, challenge, respond } from '../dist/transport/ws/handshake.js';
import { HEADER_BYTES, writeHeader } from '../dist/transport/frame.js';
import { orchidrun, ROOT } from './helpers/run.mjs';

const JOB = 'j1';
const secret = randomBytes(32);
const EAGER = 1;
const RTS = 2;
const MB = 1024 * 1024;

/** LinkEvents that record everything the mesh hands up. */
function recorder() {
  const ev = {
    frames: [],
    losts: [],
    frame(from, _link, h, payload) {
      ev.frames.push({ from, h, payload: payload ? Buffer.from(payload) : undefined });
    },
    lost(peer, why) {
      ev.losts.push({ peer, why });
    },
  };
  return ev;
}

function frameBytes(h, payload = Buffer.alloc(0)) {
  const buf = Buffer.alloc(HEADER_BYTES + payload.length);
  writeHeader(buf, { flags: 0, elem: 0, ctx: 0, src: 1, tag: 0, id: 0, length: payload.length, ...h });
  payload.copy(buf, HEADER_BYTES);
  return buf;
}

/** Resolve when `cond()` holds; reject after `ms` (a hang, not a timing check). */
async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `p`, or a rejection after `ms` (a hang, not a timing check). The timer also keeps the
 *  event loop alive meanwhile: the mesh's authenticated sockets are unref'd by design. */
function bound(p, ms, what) {
  let timer;
  const limit = new Promise((_, rej) => (timer = setTimeout(() => rej(new Error(`not within ${ms} ms: ${what}`)), ms)));
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

let mesh0;
let ev0;
let addr0;

before(async () => {
  ev0 = recorder();
  mesh0 = new WsMesh({ rank: 0, size: 2, job: JOB, host: 'h', secret, addr: '127.0.0.1', unix: false }, ev0);
  addr0 = await mesh0.listen();
  assert.match(addr0.tcp, /^127\.0\.0\.1:\d+$/);
});

after(async () => {
  await mesh0?.close();
});

/** Nothing from an attacker reached rank 0's program (and no peer was reported lost). */
function nothingReached() {
  assert.deepEqual(ev0.frames, [], 'a frame from an unauthenticated client reached the program');
  assert.deepEqual(ev0.losts, [], 'an unauthenticated client made rank 0 report a lost peer');
}

/** Open a WebSocket to rank 0 with `headers`; `onMessage(ws, msg, n)` reacts. Resolves on close
 *  (or refusal) with what the client saw. */
function wsClient(headers, onOpen, onMessage) {
  return new Promise((resolve) => {
    const seen = { opened: false, messages: [], status: undefined, error: undefined, closeCode: undefined };
    const ws = new WebSocket(`ws://${addr0.tcp}/`, { headers, perMessageDeflate: false });
    ws.on('unexpected-response', (_req, res) => {
      seen.status = res.statusCode;
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      seen.opened = true;
      onOpen?.(ws);
    });
    ws.on('message', (data, isBinary) => {
      seen.messages.push({ data: Buffer.from(data), isBinary });
      onMessage?.(ws, Buffer.from(data), seen.messages.length);
    });
    ws.on('error', (e) => (seen.error = e.message));
    ws.on('close', (code) => {
      seen.closeCode = code;
      resolve(seen);
    });
  });
}

const isChallenge = (m) => m.isBinary && m.data.length === 17 && m.data[0] === CHALLENGE;
const sawAccept = (seen) => seen.messages.some((m) => m.data[0] === ACCEPT);

// ---- (a), (b): not WebSocket at all ----

test('raw TCP random bytes to the mesh port: closed, nothing reaches the program', async () => {
  const [host, port] = addr0.tcp.split(':');
  for (let i = 0; i < 3; i++) {
    const sock = connect({ host, port: Number(port) });
    let got = Buffer.alloc(0);
    sock.on('data', (d) => (got = Buffer.concat([got, d])));
    sock.on('error', () => {});
    const closed = new Promise((r) => sock.on('close', r));
    // random bytes, then a well-formed frame for good measure
    sock.write(Buffer.concat([randomBytes(4096), frameBytes({ kind: EAGER }, Buffer.from('hello'))]));
    await bound(closed, 15_000, 'rank 0 closing a raw TCP client');
    assert.doesNotMatch(got.toString('latin1'), /101 Switching/);
  }
  nothingReached();
});

test('an HTTP request that is not an upgrade gets 426 and nothing else', async () => {
  const res = await bound(
    new Promise((resolve, reject) => {
      const req = get({ host: '127.0.0.1', port: Number(addr0.tcp.split(':')[1]), path: '/', agent: false, headers: { 'x-orchid-job': JOB } }, (r) => {
        let body = '';
        r.setEncoding('utf8').on('data', (s) => (body += s));
        r.on('end', () => resolve({ status: r.statusCode, body }));
      });
      req.on('error', reject);
    }),
    15_000,
    'an answer to a plain GET',
  );
  assert.equal(res.status, 426);
  assert.equal(res.body, '');
  nothingReached();
});

// ---- (c): WebSocket without the job ----

test('a WebSocket client without x-orchid-job, or with another job, is refused with 403', async () => {
  for (const headers of [{}, { 'x-orchid-job': 'j2' }, { 'x-orchid-job': '' }]) {
    const seen = await bound(wsClient(headers), 15_000, 'refusal');
    assert.equal(seen.opened, false, `opened with headers ${JSON.stringify(headers)}`);
    assert.equal(seen.status, 403, `status with headers ${JSON.stringify(headers)}: ${seen.error}`);
    assert.deepEqual(seen.messages, []);
  }
  nothingReached();
});

// ---- (d): the right job, but no proof of the secret ----

const badAnswers = {
  'random bytes': () => randomBytes(64),
  'a well-sized RESPONSE with a random proof': () => Buffer.concat([Buffer.from([0xa2]), Buffer.from([1, 0, 0, 0]), randomBytes(16 + 32), Buffer.from([1])]),
  'a proof made with a wrong secret': (msg) => respond(randomBytes(32), msg, 1).reply,
  'a replayed proof (right secret, another nonce)': () => respond(secret, challenge(randomBytes(16)), 1).reply,
  'a right proof for a rank outside the job': (msg) => respond(secret, msg, 7).reply,
  'a text message': () => 'hello',
};

for (const [name, answer] of Object.entries(badAnswers)) {
  test(`answering the challenge with ${name} closes the socket; frames sent after it never arrive`, async () => {
    const seen = await bound(
      wsClient({ 'x-orchid-job': JOB }, undefined, (ws, msg, n) => {
        if (n !== 1) return;
        ws.send(answer(msg));
        // and then try to talk anyway
        ws.send(frameBytes({ kind: EAGER }, Buffer.from('payload after a bad proof')));
        ws.send(frameBytes({ kind: RTS, id: 1, length: 100 }));
      }),
      15_000,
      'rank 0 closing the socket',
    );
    assert.equal(seen.opened, true);
    assert.ok(isChallenge(seen.messages[0]), 'the listener speaks first with a challenge');
    assert.equal(seen.messages.length, 1, 'nothing but the challenge');
    assert.equal(sawAccept(seen), false);
    nothingReached();
  });
}

// ---- (e): frames before authenticating ----

test('a well-formed frame before authenticating (at once, or in place of the answer) closes the socket', async () => {
  const frames = [frameBytes({ kind: EAGER }), frameBytes({ kind: EAGER }, Buffer.from('x'.repeat(100))), frameBytes({ kind: RTS, id: 9, length: 1 << 20 })];
  for (const f of frames) {
    // sent the moment the socket opens, before the challenge is read
    const s1 = await bound(wsClient({ 'x-orchid-job': JOB }, (ws) => ws.send(f)), 15_000, 'close after an early frame');
    assert.equal(s1.opened, true);
    assert.equal(sawAccept(s1), false);
    // sent as the answer to the challenge
    const s2 = await bound(wsClient({ 'x-orchid-job': JOB }, undefined, (ws, _m, n) => n === 1 && ws.send(f)), 15_000, 'close after a frame as answer');
    assert.equal(s2.messages.length, 1);
    assert.equal(sawAccept(s2), false);
  }
  nothingReached();
});

// ---- (f): silence ----

test('a client that never answers is closed after the auth deadline', async (t) => {
  const t0 = Date.now();
  const seen = await bound(wsClient({ 'x-orchid-job': JOB }), 20_000, 'the auth deadline closing a silent client');
  t.diagnostic(`silent client closed after ${Date.now() - t0} ms (deadline 5000 ms)`);
  assert.equal(seen.opened, true);
  assert.equal(seen.messages.length, 1);
  assert.ok(isChallenge(seen.messages[0]));
  nothingReached();
});

// ---- memory before authentication ----

// The mesh's maxPayload is large for real traffic, and ws buffers a message whole, so until a
// peer has proved the secret its socket may deliver only a few hundred bytes (the handshake
// answer is 54): a client with the job id (visible in the Unix socket names under /tmp) must
// not make a rank hold hundreds of MB before the auth deadline.
test('an unauthenticated client cannot make a rank buffer a huge message', async (t) => {
  const [host, port] = addr0.tcp.split(':');
  const sock = connect({ host, port: Number(port) });
  sock.on('error', () => {});
  let closed = false;
  sock.on('close', () => (closed = true));
  const key = randomBytes(16).toString('base64');
  sock.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nx-orchid-job: ${JOB}\r\n\r\n`);
  await bound(new Promise((r) => sock.once('data', r)), 15_000, 'the upgrade answer');
  const base = process.memoryUsage().arrayBuffers;
  // one masked (zero key) binary frame that announces 1 GiB, then as much of it as rank 0 takes
  const hdr = Buffer.alloc(14);
  hdr[0] = 0x82;
  hdr[1] = 0x80 | 127;
  hdr.writeUInt32BE(0, 2);
  hdr.writeUInt32BE(2 ** 30, 6);
  sock.write(hdr);
  const chunk = Buffer.alloc(1 << 20);
  const LIMIT = 128 * MB;
  let sent = 0;
  await bound(
    new Promise((resolve) => {
      const pump = () => {
        while (!closed && sent < LIMIT) {
          sent += chunk.length;
          if (!sock.write(chunk)) return sock.once('drain', pump);
        }
        resolve();
      };
      sock.on('close', resolve);
      pump();
    }),
    20_000,
    'pushing the oversized message',
  );
  await new Promise((r) => setTimeout(r, 200));
  const grew = process.memoryUsage().arrayBuffers - base;
  t.diagnostic(`client pushed ${(sent / MB).toFixed(0)} MB of an announced 1 GiB message; rank 0's arrayBuffers grew ${(grew / MB).toFixed(1)} MB; closed early: ${closed}`);
  sock.destroy();
  assert.ok(grew < 16 * MB, `rank 0 buffered ${(grew / MB).toFixed(1)} MB for a client that never authenticated`);
  nothingReached();
});

// ---- the real classes, both ways ----

test('a peer mesh with a wrong secret, or another job, cannot deliver; rank 0 sees nothing', async () => {
  for (const [what, opts] of [
    ['wrong secret', { secret: randomBytes(32), job: JOB }],
    ['another job', { secret, job: 'j2' }],
  ]) {
    const ev1 = recorder();
    const mesh1 = new WsMesh({ rank: 1, size: 2, host: 'h', addr: '127.0.0.1', unix: false, ...opts }, ev1);
    const addr1 = await mesh1.listen();
    mesh1.setPeers([{ host: 'h', tcp: addr0.tcp }, addr1]);
    const done = new Promise((r) => mesh1.to(0).send({ kind: EAGER, flags: 0, elem: 0, ctx: 0, src: 1, tag: 0, id: 0, length: 200_000 }, randomBytes(200_000), r));
    const err = await bound(done, 15_000, `the ${what} send failing`);
    assert.ok(err instanceof Error, `${what}: the send reported an error`);
    await until(() => ev1.losts.length > 0, 15_000, `${what}: rank 1 reporting rank 0 lost`);
    assert.equal(ev1.losts[0].peer, 0);
    await mesh1.close();
    nothingReached();
  }
});

test('a listener that cannot prove the secret gets no frame from a connecting rank', async () => {
  // a fake "rank 0": challenges properly, then answers with a made-up accept
  const got = [];
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.on('listening', r));
  wss.on('connection', (ws, req) => {
    got.push({ job: req.headers['x-orchid-job'] });
    ws.on('message', (data) => {
      got.push(Buffer.from(data));
      if (got.length === 2) ws.send(Buffer.concat([Buffer.from([ACCEPT]), randomBytes(32), Buffer.from([1])]));
    });
    ws.send(challenge(randomBytes(16)));
  });
  const ev1 = recorder();
  const mesh1 = new WsMesh({ rank: 1, size: 2, job: JOB, host: 'h', secret, addr: '127.0.0.1', unix: false }, ev1);
  const addr1 = await mesh1.listen();
  mesh1.setPeers([{ host: 'h', tcp: `127.0.0.1:${wss.address().port}` }, addr1]);
  const payload = Buffer.from('secret data for rank 0 only');
  const done = new Promise((r) => mesh1.to(0).send({ kind: EAGER, flags: 0, elem: 0, ctx: 0, src: 1, tag: 0, id: 0, length: payload.length }, payload, r));
  await bound(done, 15_000, 'the send settling');
  await until(() => ev1.losts.length > 0, 15_000, 'rank 1 giving up on the fake listener');
  assert.match(ev1.losts[0].why, /could not prove the job secret/);
  assert.equal(got.length, 2, 'the fake listener saw the job header and the response, nothing more');
  assert.equal(got[0].job, JOB);
  assert.equal(got[1][0], 0xa2, 'the response');
  assert.equal(got[1].includes(payload), false);
  await mesh1.close();
  await new Promise((r) => wss.close(r));
});

test('positive control: a peer mesh with the right secret delivers frames with the right bytes', async () => {
  nothingReached();
  const ev1 = recorder();
  const mesh1 = new WsMesh({ rank: 1, size: 2, job: JOB, host: 'h', secret, addr: '127.0.0.1', unix: false }, ev1);
  const addr1 = await mesh1.listen();
  mesh1.setPeers([{ host: 'h', tcp: addr0.tcp }, addr1]);
  const small = randomBytes(1000);
  const large = randomBytes(300_000); // over the inline size: sent as a second message
  const link = mesh1.to(0);
  const h1 = { kind: EAGER, flags: 0, elem: 0, ctx: 4, src: 1, tag: 42, id: 0, sig: 0, length: small.length };
  const h2 = { kind: EAGER, flags: 0, elem: 8, ctx: 4, src: 1, tag: 43, id: 0, sig: 0, length: large.length };
  const sent = [new Promise((r) => link.send(h1, small, r)), new Promise((r) => link.send(h2, large, r))];
  assert.deepEqual(await bound(Promise.all(sent), 15_000, 'the sends'), [undefined, undefined]);
  await until(() => ev0.frames.length >= 2, 15_000, 'rank 0 receiving both frames');
  const [f1, f2] = ev0.frames;
  assert.equal(f1.from, 1);
  assert.deepEqual({ ...f1.h }, h1);
  assert.ok(f1.payload.equals(small), 'small payload bytes');
  assert.equal(f2.from, 1);
  assert.deepEqual({ ...f2.h, flags: 0 }, h2);
  assert.ok(f2.payload.equals(large), 'large payload bytes');
  assert.equal(mesh0.hasInbound(1), true);
  assert.deepEqual(ev0.losts, []);
  assert.deepEqual(ev1.losts, []);
  await mesh1.close();
  ev0.frames.length = 0;
  ev0.losts.length = 0;
});

// ---- the coordinator port ----

test('coordinator: raw random bytes, an oversized line and a replayed proof are closed; real ranks still join', async () => {
  const coord = new Coordinator({ secret, size: 2 });
  const addr = await coord.start();
  const [host, port] = addr.split(':');
  let registered = 0;
  coord.on('register', () => registered++);
  const raw = async (payload) => {
    const sock = connect({ host, port: Number(port) });
    let got = '';
    sock.setEncoding('latin1').on('data', (s) => (got += s));
    sock.on('error', () => {});
    const closed = new Promise((r) => sock.on('close', r));
    await new Promise((r) => sock.once('data', r)); // the hello
    sock.write(typeof payload === 'function' ? payload(got) : payload);
    await bound(closed, 15_000, 'the coordinator closing a bad client');
    return got;
  };
  // random bytes (with a newline so a "line" is complete)
  for (let i = 0; i < 3; i++) {
    const got = await raw(Buffer.concat([randomBytes(2048), Buffer.from('\n')]));
    assert.equal(got.trim().split('\n').length, 1, 'nothing after the hello');
  }
  // a line that never ends
  await raw(Buffer.alloc(200_000, 'a'));
  // a proof with the right secret but for a nonce the coordinator never sent
  await raw(() => JSON.stringify({ t: 'register', rank: 0, nonce: randomBytes(16).toString('base64'), proof: proof(secret, randomBytes(16), 'coord-client').toString('base64'), info: {} }) + '\n');
  assert.equal(coord.registered, 0);
  assert.equal(registered, 0);
  const join = (rank) => connectCoordinator({ coord: addr, secret, rank, size: 2, info: { rank }, timeoutMs: 10_000 });
  const good = await Promise.all([join(0), join(1)]);
  assert.deepEqual(good[0].table, [{ rank: 0 }, { rank: 1 }]);
  for (const c of good) c.close();
  await coord.close();
});

// ---- a real job: the secret is nowhere to be seen ----

test('in a real job the secret is in no command line or environment of rank, proxy or launcher', async (t) => {
  const r = await orchidrun(['-n', '2', 'expose.mjs'], { cwd: join(ROOT, 'test/programs/faults'), timeoutMs: 30_000 });
  assert.equal(r.code, 0, r.stderr);
  const reports = [...r.stdout.matchAll(/^report (.*)$/gm)].map((m) => JSON.parse(m[1]));
  assert.deepEqual(reports.map((x) => x.rank).sort(), [0, 1]);
  assert.equal(reports[0].secretB64, reports[1].secretB64, 'one secret per job');
  const raw = Buffer.from(reports[0].secretB64, 'base64');
  assert.equal(raw.length, 32);
  const encodings = [raw.toString('base64'), raw.toString('base64url'), raw.toString('hex'), raw.toString('base64').replace(/=+$/, '')];
  const looksLikeSecret = (s) => /^[A-Za-z0-9+/_-]{43}=?$/.test(s) || /^[0-9a-fA-F]{64}$/.test(s);
  for (const rep of reports) {
    const secretKeys = rep.envKeys.filter((k) => /secret|token|key/i.test(k) && k.startsWith('ORCHID'));
    assert.deepEqual(secretKeys, ['ORCHID_SECRET_FD'], 'the only secret-related variable is the fd number');
    assert.equal(rep.env.ORCHID_SECRET_FD, '3');
    assert.equal(rep.env.ORCHID_SECRET, undefined);
    for (const [k, v] of Object.entries(rep.env)) {
      if (k.startsWith('ORCHID_')) assert.equal(looksLikeSecret(v), false, `${k} looks like a secret`);
    }
    for (const a of rep.argv) assert.equal(looksLikeSecret(a), false, 'an argv element looks like a secret');
    const places = { 'rank argv': rep.argv, 'rank env': Object.values(rep.env) };
    for (const who of ['self', 'proxy', 'launcher']) {
      places[`${who} cmdline`] = rep[who].cmdline;
      places[`${who} environ`] = rep[who].environ;
      assert.ok(rep[who].cmdline.length > 0 && !rep[who].cmdline[0].startsWith('<unreadable'), `${who} cmdline was read`);
    }
    assert.ok(rep.launcher.cmdline.some((a) => a.endsWith('orchidrun.js')), `the launcher found: ${rep.launcher.cmdline.join(' ')}`);
    for (const [where, strings] of Object.entries(places)) {
      for (const s of strings) for (const enc of encodings) assert.equal(s.includes(enc), false, `the secret appears in the ${where}`);
    }
    t.diagnostic(`rank ${rep.rank}: checked ${Object.values(places).flat().length} strings; proxy: ${rep.proxy.cmdline.slice(1).join(' ')}`);
  }
});
