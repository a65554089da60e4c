// What differs between architectures, checked byte by byte on whatever machine runs it: the
// ws handshake states each side's byte order and a mismatch is a clear ERR_TRANSPORT naming
// both ranks and hosts (real WsMesh objects and sockets, in process); typed arrays received at
// any offset in a socket chunk arrive aligned and intact; an addon built for another machine
// is refused by name.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { WsMesh } from '../dist/transport/ws/mesh.js';
import { ACCEPT, BIG_ENDIAN, challenge, HOST_ORDER, LITTLE_ENDIAN, RESPONSE, respond, verify } from '../dist/transport/ws/handshake.js';
import { Deframer } from '../dist/transport/ws/deframe.js';
import { encodeFrame, FrameReader } from '../dist/transport/ws/framing.js';
import { decode, elemCode } from '../dist/codec/index.js';
import { archMismatch, elfMachine } from '../dist/transport/mpi/elf.js';

const JOB = 'jarch';
const secret = randomBytes(32);
const OTHER = HOST_ORDER === LITTLE_ENDIAN ? BIG_ENDIAN : LITTLE_ENDIAN;
const otherName = OTHER === BIG_ENDIAN ? 'big-endian' : 'little-endian';

function recorder() {
  const ev = { frames: [], losts: [], fatals: [] };
  ev.frame = (from, _l, h, payload) => ev.frames.push({ from, h, payload });
  ev.lost = (peer, why) => ev.losts.push({ peer, why });
  return ev;
}

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the handshake carries the byte order: last byte of RESPONSE and of ACCEPT, bound to the proofs', () => {
  const nonce = randomBytes(16);
  const r = respond(secret, challenge(nonce), 1);
  assert.equal(r.reply.length, 1 + 4 + 16 + 32 + 1);
  assert.equal(r.reply[0], RESPONSE);
  assert.equal(r.reply.readInt32LE(1), 1);
  assert.equal(r.reply[r.reply.length - 1], HOST_ORDER);
  assert.equal(HOST_ORDER, LITTLE_ENDIAN, `${process.arch} is little-endian`);
  const ok = verify(secret, nonce, r.reply, 2);
  assert.equal(ok.rank, 1);
  assert.equal(ok.order, HOST_ORDER);
  assert.equal(ok.accept[0], ACCEPT);
  assert.equal(ok.accept[ok.accept.length - 1], HOST_ORDER);
  // the order byte is covered by the proof: flipping it makes the answer invalid
  const flipped = Buffer.from(r.reply);
  flipped[flipped.length - 1] = OTHER;
  assert.equal(verify(secret, nonce, flipped, 2), undefined);
});

test('a peer stating the other byte order: the listener ends the job with ERR_TRANSPORT naming both ranks and hosts', async () => {
  const ev = recorder();
  const mesh = new WsMesh({ rank: 0, size: 2, job: JOB, host: 'headnode', secret, addr: '127.0.0.1', unix: false, fatal: (e) => ev.fatals.push(e) }, ev);
  const addr = await mesh.listen();
  mesh.setPeers([addr, { host: 'bigboard', tcp: '127.0.0.1:1' }]);
  const got = [];
  const ws = new WebSocket(`ws://${addr.tcp}/`, { headers: { 'x-orchid-job': JOB }, perMessageDeflate: false });
  ws.on('message', (data) => {
    got.push(Buffer.from(data));
    if (got.length === 1) ws.send(respond(secret, Buffer.from(data), 1, OTHER).reply);
  });
  ws.on('error', () => {});
  await until(() => ev.fatals.length > 0, 10_000, 'the listener reporting the mismatch');
  const e = ev.fatals[0];
  assert.equal(e.code, 'ERR_TRANSPORT');
  assert.match(e.message, new RegExp(`rank 0 on headnode is little-endian \\(${process.arch}\\), but rank 1 on bigboard is ${otherName}`));
  assert.match(e.message, /same byte order/);
  await until(() => got.length >= 2, 10_000, 'the accept');
  assert.equal(got[1][0], ACCEPT);
  assert.equal(got[1][got[1].length - 1], HOST_ORDER, 'the accept states the listener\'s order');
  assert.deepEqual(ev.frames, []);
  ws.terminate();
  await mesh.close();
});

test('a listener stating the other byte order: the connecting rank ends the job with ERR_TRANSPORT', async () => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.on('listening', r));
  wss.on('connection', (ws) => {
    const nonce = randomBytes(16);
    ws.on('message', (data) => {
      const ok = verify(secret, nonce, Buffer.from(data), 2, OTHER);
      if (ok) ws.send(ok.accept);
    });
    ws.send(challenge(nonce));
  });
  const ev = recorder();
  const mesh = new WsMesh({ rank: 1, size: 2, job: JOB, host: 'laptop', secret, addr: '127.0.0.1', unix: false, fatal: (e) => ev.fatals.push(e) }, ev);
  const addr = await mesh.listen();
  mesh.setPeers([{ host: 'bigboard', tcp: `127.0.0.1:${wss.address().port}` }, addr]);
  const payload = new Float64Array([1, 2, 3]);
  const done = new Promise((r) => mesh.to(0).send({ kind: 1, flags: 0, elem: elemCode(payload), ctx: 0, src: 1, tag: 0, id: 0, length: 24 }, new Uint8Array(payload.buffer), r));
  await until(() => ev.fatals.length > 0, 10_000, 'the connecting rank reporting the mismatch');
  assert.equal(ev.fatals[0].code, 'ERR_TRANSPORT');
  assert.match(ev.fatals[0].message, new RegExp(`rank 1 on laptop is little-endian .* but rank 0 on bigboard is ${otherName}`));
  assert.equal(await done, undefined, 'a small send completes at once (its bytes were copied)');
  assert.deepEqual(ev.losts, [], 'reported as the job-ending error, not as a lost peer');
  await mesh.close();
  await new Promise((r) => wss.close(r));
});

test('typed arrays of every kind received at an odd offset of a socket chunk arrive aligned and intact', () => {
  const values = [
    new Int8Array([-1, 2, -3]), new Uint8Array([1, 2, 250]), new Uint8ClampedArray([0, 128, 255]),
    new Int16Array([-300, 7, 32000]), new Uint16Array([1, 65535, 3]), new Int32Array([-1e9, 5, 1e9]),
    new Uint32Array([4e9, 1, 2]), new Float32Array([1.5, -2.25, 3e38]), new Float64Array([Math.PI, -0, 1e-300]),
    new BigInt64Array([-(2n ** 62n), 5n]), new BigUint64Array([2n ** 63n, 7n]),
    new Float64Array(20_000).map((_, i) => i / 3), // over the inline size: its payload is a message of its own
  ];
  for (const v of values) {
    const f = encodeFrame({ kind: 1, flags: 0, elem: elemCode(v), ctx: 0, src: 0, tag: 0, id: 0, length: v.byteLength }, new Uint8Array(v.buffer, v.byteOffset, v.byteLength), false);
    const wire = Buffer.concat([f.head, ...(f.payload ? [Buffer.from(f.payload)] : [])]);
    for (const skew of [1, 3, 5]) {
      // the frame sits at an odd offset of a chunk's memory, as after other bytes in one read
      const chunk = Buffer.alloc(skew + wire.length);
      wire.copy(chunk, skew);
      const got = [];
      const reader = new FrameReader(0, { send() {} }, { frame: (_f, _l, h, p) => got.push(decode({ elem: h.elem, bytes: p })), lost() {} }, (why) => assert.fail(why));
      const d = new Deframer({ message: (m) => reader.onMessage(m), control() {}, fail: (why) => assert.fail(why) });
      d.push(chunk.subarray(skew));
      assert.equal(got.length, 1);
      const out = got[0];
      assert.equal(out.constructor, v.constructor);
      assert.equal(out.byteOffset % v.BYTES_PER_ELEMENT, 0, `${v.constructor.name} aligned`);
      assert.deepEqual(Array.from(out), Array.from(v), `${v.constructor.name} at skew ${skew}`);
    }
  }
});

test('an addon built for another architecture is refused by name, before the dynamic loader sees it', async () => {
  assert.ok(elfMachine(process.execPath) !== undefined, 'node itself is an ELF file');
  assert.equal(archMismatch(process.execPath), undefined, 'node runs on its own architecture');
  const other = process.arch === 'arm64' ? 'x64' : 'arm64';
  assert.match(archMismatch(process.execPath, other), new RegExp(`built for ${process.arch === 'arm64' ? 'aarch64' : 'x86-64'}, but this node runs on ${other}`));
  // an ELF header of the other architecture posing as the addon (a build/ copied across machines)
  const dir = mkdtempSync(join(tmpdir(), 'orchid-arch-'));
  const fake = join(dir, 'orchid_mpi.node');
  const head = Buffer.alloc(64);
  head.writeUInt32BE(0x7f454c46, 0);
  head[4] = 2; // 64-bit
  head[5] = 1; // little-endian
  head[6] = 1;
  head.writeUInt16LE(3, 16); // ET_DYN
  head.writeUInt16LE(other === 'arm64' ? 183 : 62, 18);
  writeFileSync(fake, head);
  const script = `import { loadAddon } from ${JSON.stringify(new URL('../dist/transport/mpi/addon.js', import.meta.url).href)}; const r = loadAddon(); console.log(JSON.stringify({ loaded: !!r.addon, error: r.error }));`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ORCHID_MPI_ADDON: fake }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  assert.equal(got.loaded, false);
  const names = { x64: 'x86-64', arm64: 'aarch64' };
  assert.match(got.error, new RegExp(`addon at ${fake.replace(/[/.]/g, '\\$&')} cannot load here: it is built for ${names[other]}, but this node runs on ${process.arch} \\(${names[process.arch]}\\).*npm rebuild orchid-mpi`));
});

test('npm install with a C++ compiler for another architecture skips the addon, says why, and leaves the reason for doctor', () => {
  const cross = process.arch === 'arm64' ? 'g++' : 'aarch64-linux-gnu-g++';
  const probe = spawnSync(cross, ['-dumpmachine'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    assert.ok(!process.env.CI, `${cross} is installed in CI by .ci/run`);
    return;
  }
  // a copy of the install script: its package root is the copy's, so nothing here is rebuilt
  const dir = mkdtempSync(join(tmpdir(), 'orchid-install-'));
  mkdirSync(join(dir, 'native'));
  for (const f of ['install.mjs', 'mpi-flags.mjs']) copyFileSync(new URL(`../native/${f}`, import.meta.url), join(dir, 'native', f));
  const r = spawnSync(process.execPath, [join(dir, 'native/install.mjs')], { env: { ...process.env, CXX: cross }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, r.stdout);
  if (/no MPI found/.test(lines[0])) return; // MPI is looked for first; CI has it
  assert.match(lines[0], new RegExp(`native MPI transport skipped \\(the C\\+\\+ compiler \`${cross.replace(/\+/g, '\\+')}\` builds for ${probe.stdout.trim()}, not for this node's ${process.arch}: the addon would not load\\).*pacman -S base-devel python`));
  assert.match(readFileSync(join(dir, 'build/native-skipped.txt'), 'utf8'), /builds for .*npm rebuild orchid-mpi/);
});
