// The receiver of an authenticated ws connection (src/transport/ws/deframe.ts), fed bytes
// directly, without sockets: frames split across chunks at every byte boundary, several frames
// in one chunk, large frames, masked (zero and non-zero keys) and not, control frames passed
// back re-encoded, protocol errors; and our frames (encodeFrame / encodeInline) through
// Deframer and FrameReader back to headers and payloads.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Receiver } from 'ws';
import { Deframer } from '../dist/transport/ws/deframe.js';
import { encodeFrame, encodeInline, FrameReader, INLINE_MAX, SCRATCH_BYTES, writeWsHeader } from '../dist/transport/ws/framing.js';
import { EAGER, RTS } from './helpers/memory-links.mjs';

/** A binary (or `op`) WebSocket frame with `payload`, masked with `key` when given. */
function wsFrame(payload, { key, op = 2, fin = true, rsv = 0 } = {}) {
  const masked = key !== undefined;
  const head = Buffer.alloc(14);
  let n = writeWsHeader(head, 0, payload.length, masked);
  head[0] = (fin ? 0x80 : 0) | rsv | op;
  const body = Buffer.from(payload);
  if (masked) {
    head.writeUInt32BE(key >>> 0, n - 4);
    for (let i = 0; i < body.length; i++) body[i] ^= (key >>> (8 * (3 - (i & 3)))) & 0xff;
  }
  return Buffer.concat([head.subarray(0, n), body]);
}

const bytes = (n, seed) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

function collect(opts) {
  const got = { messages: [], controls: [], errors: [] };
  const d = new Deframer(
    {
      message: (m) => got.messages.push(Buffer.from(m)),
      control: (f) => got.controls.push(Buffer.from(f)),
      fail: (why) => got.errors.push(why),
    },
    opts?.maxPayload,
  );
  // push() owns its chunks (it unmasks in place, as socket chunks are its own): give it copies
  return { d: { push: (c) => d.push(Buffer.from(c)) }, got };
}

const payloads = [0, 1, 7, 125, 126, 127, 300].map((n, i) => bytes(n, i));
const keys = [undefined, 0, 0x01020304, 0xdeadbeef];

test('frames split across two chunks at every byte boundary arrive whole and in order', () => {
  for (const key of keys) {
    const stream = Buffer.concat(payloads.map((p) => wsFrame(p, { key })));
    for (let cut = 0; cut <= stream.length; cut++) {
      const { d, got } = collect();
      d.push(stream.subarray(0, cut));
      d.push(stream.subarray(cut));
      assert.deepEqual(got.errors, [], `cut ${cut}`);
      assert.deepEqual(got.messages, payloads, `key ${key}, cut at ${cut}`);
    }
  }
});

test('byte by byte, and all frames in one chunk', () => {
  for (const key of keys) {
    const stream = Buffer.concat(payloads.map((p) => wsFrame(p, { key })));
    const one = collect();
    one.d.push(stream);
    assert.deepEqual(one.got.messages, payloads);
    const each = collect();
    for (let i = 0; i < stream.length; i++) each.d.push(stream.subarray(i, i + 1));
    assert.deepEqual(each.got.messages, payloads);
  }
});

test('a message whole in its chunk is a view of the chunk; one that spans chunks gets a buffer of its own size', () => {
  const a = bytes(100, 1);
  const chunk = Buffer.concat([wsFrame(a), wsFrame(bytes(50, 2)).subarray(0, 20)]);
  const seen = [];
  const d = new Deframer({ message: (m) => seen.push(m), control() {}, fail: assert.fail });
  d.push(chunk);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].buffer, chunk.buffer, 'a view, not a copy');
  d.push(wsFrame(bytes(50, 2)).subarray(20));
  assert.equal(seen.length, 2);
  assert.deepEqual(Buffer.from(seen[1]), bytes(50, 2));
  assert.equal(seen[1].byteOffset, 0);
  assert.equal(seen[1].buffer.byteLength, 50, 'gathered into a buffer of exactly its size');
});

test('large frames (16-bit and 64-bit lengths) in chunks of many sizes', () => {
  const big = [bytes(65535, 3), bytes(65536, 4), bytes(1 << 20, 5), bytes(3 * 65536 + 17, 6)];
  for (const key of [undefined, 0, 0x0badf00d]) {
    const stream = Buffer.concat(big.map((p) => wsFrame(p, { key })));
    for (const size of [1000, 65536, 65537, 100003, stream.length]) {
      const { d, got } = collect();
      for (let o = 0; o < stream.length; o += size) d.push(stream.subarray(o, o + size));
      assert.deepEqual(got.errors, []);
      assert.equal(got.messages.length, big.length);
      got.messages.forEach((m, i) => assert.ok(m.equals(big[i]), `frame ${i}, chunks of ${size}, key ${key}`));
    }
  }
});

test('control frames go back re-encoded (unmasked payload, zero key); nothing is read after a close', () => {
  const close = Buffer.from([0x03, 0xe8, 0x62, 0x79]); // 1000 "by"
  for (const key of [undefined, 0x11223344]) {
    const stream = Buffer.concat([wsFrame(bytes(10, 1), { key }), wsFrame(Buffer.from('hi'), { key, op: 9 }), wsFrame(close, { key, op: 8 }), wsFrame(bytes(5, 2), { key })]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const { d, got } = collect();
      d.push(stream.subarray(0, cut));
      d.push(stream.subarray(cut));
      assert.deepEqual(got.messages, [bytes(10, 1)], `cut ${cut}`);
      const m = key === undefined ? [] : [0, 0, 0, 0];
      assert.deepEqual(got.controls, [Buffer.from([0x89, (key === undefined ? 0 : 0x80) | 2, ...m, 0x68, 0x69]), Buffer.from([0x88, (key === undefined ? 0 : 0x80) | 4, ...m, ...close])]);
    }
  }
});

test('re-encoded control frames are what the ws receiver accepts (its close handshake)', async () => {
  const { d, got } = collect();
  d.push(wsFrame(Buffer.from([0x03, 0xe8]), { key: 0x55667788, op: 8 }));
  const code = await new Promise((resolve, reject) => {
    const r = new Receiver({ isServer: true });
    r.on('conclude', (c) => resolve(c));
    r.on('error', reject);
    r.write(got.controls[0]);
  });
  assert.equal(code, 1000);
});

test('protocol errors: text, fragmented, reserved bits, unknown opcode, long control frame, over the limit', () => {
  const cases = [
    [wsFrame(bytes(3, 1), { op: 1 }), /text/],
    [wsFrame(bytes(3, 1), { fin: false }), /fragmented/],
    [wsFrame(bytes(3, 1), { op: 0 }), /fragmented/],
    [wsFrame(bytes(3, 1), { rsv: 0x40 }), /reserved/],
    [wsFrame(bytes(3, 1), { op: 3 }), /opcode/],
    [wsFrame(bytes(126, 1), { op: 9 }), /control frame/],
  ];
  for (const [frame, why] of cases) {
    for (let cut = 0; cut <= frame.length; cut++) {
      const { d, got } = collect();
      d.push(Buffer.concat([wsFrame(bytes(4, 9)), frame.subarray(0, cut)]));
      d.push(Buffer.concat([frame.subarray(cut), wsFrame(bytes(4, 8))]));
      assert.equal(got.errors.length, 1, `${why} at cut ${cut}`);
      assert.match(got.errors[0], why);
      assert.deepEqual(got.messages, [bytes(4, 9)], 'nothing after the error');
    }
  }
  const { d, got } = collect({ maxPayload: 1000 });
  d.push(wsFrame(bytes(1001, 1)).subarray(0, 8));
  assert.match(got.errors[0], /1001 bytes/);
});

test('our frames through Deframer and FrameReader: inline, separate payloads, RTS, the sig word', () => {
  const sizes = [0, 8, 100, INLINE_MAX, INLINE_MAX + 1, 300000];
  const frames = [];
  const want = [];
  for (const masked of [false, true]) {
    sizes.forEach((n, i) => {
      const h = { kind: EAGER, flags: 0, elem: 2, ctx: 4, src: 1, tag: i, id: 0, length: n, sig: 0x9abcdef0 };
      const p = bytes(n, i);
      if (n <= INLINE_MAX && i % 2 === 0) {
        const scratch = Buffer.alloc(SCRATCH_BYTES);
        frames.push(Buffer.from(scratch.subarray(0, encodeInline(scratch, h, p, masked))));
      } else {
        const f = encodeFrame(h, p, masked);
        frames.push(f.head, ...(f.payload ? [Buffer.from(f.payload)] : []));
      }
      want.push([h, p]);
    });
    const rts = { kind: RTS, flags: 0, elem: 2, ctx: 6, src: 0, tag: 9, id: 77, length: 1 << 20, sig: 5 };
    frames.push(encodeFrame(rts, undefined, masked).head);
    want.push([rts, Buffer.alloc(0)]);
    const stream = Buffer.concat(frames.splice(0));
    for (const size of [1, 7, 4096, 65536, stream.length]) {
      const got = [];
      const events = { frame: (_from, _link, h, p) => got.push([h, Buffer.from(p ?? [])]), lost: assert.fail };
      const reader = new FrameReader(3, {}, events, assert.fail);
      const d = new Deframer({ message: (m) => reader.onMessage(m), control: assert.fail, fail: assert.fail });
      for (let o = 0; o < stream.length; o += size) d.push(stream.subarray(o, o + size));
      assert.equal(got.length, want.length, `chunks of ${size}`);
      got.forEach(([h, p], i) => {
        const [wh, wp] = want[i];
        assert.deepEqual({ ...h, flags: 0 }, { ...wh, flags: 0 }, `header ${i}, chunks of ${size}`);
        assert.ok(p.equals(wp), `payload ${i}, chunks of ${size}`);
      });
    }
    want.length = 0;
  }
});
