// The ws transport's bytes (src/transport/ws/framing.ts), byte by byte: WebSocket frame
// headers at the length boundaries of RFC 6455 (125 | 126, 65535 | 65536), our frames as the
// ws library's own Receiver parses them, and FrameReader on well-formed and broken messages.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Receiver } from 'ws';
import { HEADER_BYTES, readHeader } from '../dist/transport/frame.js';
import { encodeFrame, FrameReader, INLINE_MAX, SEPARATE, wsHeaderBytes, writeWsHeader } from '../dist/transport/ws/framing.js';
import { EAGER, RTS } from './helpers/memory-links.mjs';

// sig: the collective signature word (0 for point to point)
const header = (length, extra = {}) => ({ kind: EAGER, flags: 0, elem: 2, ctx: 4, src: 1, tag: 42, id: 0, length, sig: 0, ...extra });
const hex = (b) => Buffer.from(b).toString('hex');

test('WebSocket header bytes at the length boundaries, masked (zero key) and not', () => {
  const cases = [
    // payload length, unmasked header, masked header
    [0, '8200', '828000000000'],
    [125, '827d', '82fd00000000'],
    [126, '827e007e', '82fe007e00000000'],
    [65535, '827effff', '82feffff00000000'],
    [65536, '827f0000000000010000', '82ff000000000001000000000000'],
    [2 ** 32 + 5, '827f0000000100000005', '82ff000000010000000500000000'],
  ];
  for (const [len, plain, masked] of cases) {
    for (const [m, want] of [[false, plain], [true, masked]]) {
      assert.equal(wsHeaderBytes(len, m), want.length / 2, `header size for ${len} (masked ${m})`);
      const buf = Buffer.alloc(16, 0xee);
      const n = writeWsHeader(buf, 1, len, m);
      assert.equal(n, want.length / 2);
      assert.equal(buf[0], 0xee, 'nothing written before the offset');
      assert.equal(hex(buf.subarray(1, 1 + n)), want, `length ${len}, masked ${m}`);
      assert.equal(buf[1 + n], 0xee, 'nothing written past the header');
    }
  }
});

/** Parse `bufs` with the ws library's Receiver (a server's, for masked frames); resolves with its messages. */
function parse(bufs, masked) {
  return new Promise((resolve, reject) => {
    const r = new Receiver({ isServer: masked, skipUTF8Validation: true });
    const got = [];
    r.on('message', (data, isBinary) => got.push({ data: Buffer.from(data), isBinary }));
    r.on('error', reject);
    for (const b of bufs) r.write(b);
    setImmediate(() => resolve(got));
  });
}

test('frames whose WebSocket length sits on a boundary (125, 126, 65535, 65536) parse as one message: header and payload', async () => {
  for (const wsLen of [125, 126, 65535, 65536]) {
    const plen = wsLen - HEADER_BYTES;
    const payload = Buffer.alloc(plen).map((_, i) => (i * 13) & 0xff);
    for (const masked of [true, false]) {
      const f = encodeFrame(header(plen), payload, masked);
      assert.equal(f.payload, undefined, `${plen} bytes go inline (INLINE_MAX ${INLINE_MAX})`);
      assert.equal(f.head.length, wsHeaderBytes(wsLen, masked) + wsLen);
      const msgs = await parse([f.head], masked);
      assert.equal(msgs.length, 1);
      assert.equal(msgs[0].isBinary, true);
      assert.equal(msgs[0].data.length, wsLen, `WebSocket length ${wsLen}`);
      assert.deepEqual({ ...readHeader(msgs[0].data) }, header(plen));
      assert.ok(msgs[0].data.subarray(HEADER_BYTES).equals(payload), 'payload bytes');
    }
  }
});

test('a payload over INLINE_MAX: a header frame flagged SEPARATE, then the payload as its own frame, from the caller\'s memory', async () => {
  for (const plen of [INLINE_MAX + 1, 100_000]) {
    const payload = Buffer.alloc(plen, 0x5a);
    const f = encodeFrame(header(plen, { kind: EAGER }), payload, true);
    assert.equal(f.payload, payload, 'the payload is not copied');
    assert.equal(f.head.length, wsHeaderBytes(HEADER_BYTES, true) + HEADER_BYTES + wsHeaderBytes(plen, true));
    const msgs = await parse([f.head, f.payload], true);
    assert.equal(msgs.length, 2);
    const h = readHeader(msgs[0].data);
    assert.equal(msgs[0].data.length, HEADER_BYTES);
    assert.equal(h.flags & SEPARATE, SEPARATE);
    assert.equal(h.length, plen);
    assert.ok(msgs[1].data.equals(payload));
  }
  // an RTS has no payload: one frame of just the header
  const rts = encodeFrame(header(1 << 20, { kind: RTS, id: 9 }), undefined, false);
  assert.equal(rts.head.length, 2 + HEADER_BYTES);
});

test('FrameReader: frames go up whole; a SEPARATE header waits for its payload; broken messages fail the socket', async () => {
  const frames = [];
  const fails = [];
  const link = { send() {} };
  const events = { frame: (from, l, h, payload) => frames.push({ from, l, h, payload: payload && Buffer.from(payload) }), lost: assert.fail };
  const reader = () => new FrameReader(3, link, events, (why) => fails.push(why));
  /** Our frame as the ws library would hand it up: the WebSocket payload of each frame. */
  const messages = async (h, payload) => {
    const f = encodeFrame(h, payload, false);
    return (await parse(f.payload ? [f.head, f.payload] : [f.head], false)).map((m) => m.data);
  };
  const r = reader();
  for (const m of await messages(header(5), Buffer.from('hello'))) r.onMessage(m);
  for (const m of await messages(header(70_000), Buffer.alloc(70_000, 1))) r.onMessage(m);
  for (const m of await messages(header(4096, { kind: RTS, id: 2 }))) r.onMessage(m);
  assert.deepEqual(fails, []);
  assert.equal(frames.length, 3);
  assert.ok(frames.every((f) => f.from === 3 && f.l === link));
  assert.equal(frames[0].payload.toString(), 'hello');
  assert.equal(frames[1].payload.length, 70_000);
  assert.equal(frames[1].h.flags & SEPARATE, SEPARATE);
  assert.deepEqual([frames[2].h.kind, frames[2].h.id, frames[2].payload.length], [RTS, 2, 0]);

  const bad = async (msgs, re) => {
    const before = frames.length;
    const rd = reader();
    for (const m of msgs) rd.onMessage(m);
    assert.equal(frames.length, before, `nothing went up for ${re}`);
    assert.match(fails.pop(), re);
  };
  const [small] = await messages(header(5), Buffer.from('hello'));
  await bad([small.subarray(0, 20)], /short frame \(20 bytes\)/);
  const unknown = Buffer.from(small);
  unknown[0] = 7;
  await bad([unknown], /unknown frame kind 7/);
  await bad([small.subarray(0, HEADER_BYTES + 3)], /frame length 3, header said 5/);
  const [sepHeader] = await messages(header(70_000), Buffer.alloc(70_000));
  await bad([sepHeader, Buffer.alloc(69_999)], /payload of 69999 bytes, header said 70000/);
});
