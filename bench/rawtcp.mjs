// The reference: a raw socket ping-pong between two Node processes, over TCP on loopback or
// over a Unix socket (`--unix`), with no framing beyond counting bytes: the receiver reads
// every byte of a message (its 'data' chunks) before it answers, the sender writes the same
// Buffer each time. Same sizes, iteration counts and warm-up as the orchid ranks
// (pingpong-sizes.mjs). `node bench/rawtcp.mjs [--unix]` prints the same JSON lines as the
// orchid ranks: { size, iters, usRoundTrip }.
import { fork } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIRST_WARMUP, SIZES, itersFor, warmupFor } from './pingpong-sizes.mjs';

/** Resolves after `n` more bytes arrived on `sock`. */
function reader(sock) {
  let want = 0;
  let have = 0;
  let done;
  sock.on('data', (chunk) => {
    have += chunk.length;
    if (want > 0 && have >= want) {
      have -= want;
      want = 0;
      done();
    }
  });
  return (n) =>
    new Promise((resolve) => {
      if (have >= n) {
        have -= n;
        return resolve();
      }
      want = n;
      done = resolve;
    });
}

if (process.argv[2] === 'echo') {
  // the peer: reads each message whole, then sends one of the same size back
  const where = process.argv[3];
  const sock = /^\d+$/.test(where) ? createConnection(Number(where), '127.0.0.1') : createConnection(where);
  sock.setNoDelay(true);
  const read = reader(sock);
  for (let i = 0; i < FIRST_WARMUP; i++) {
    await read(8);
    sock.write(Buffer.alloc(8));
  }
  for (const size of SIZES) {
    const buf = Buffer.alloc(size, 7);
    const iters = itersFor(size);
    for (let i = 0; i < warmupFor(size) + iters; i++) {
      await read(size);
      sock.write(buf);
    }
  }
  sock.end();
} else {
  const unix = process.argv.includes('--unix');
  const path = join(tmpdir(), `orchid-rawbench-${process.pid}.sock`);
  const server = createServer();
  if (unix) server.listen(path);
  else server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const child = fork(new URL(import.meta.url).pathname, ['echo', unix ? path : String(server.address().port)]);
  const [sock] = await new Promise((r) => server.once('connection', (s) => r([s])));
  sock.setNoDelay(true);
  const read = reader(sock);
  for (let i = 0; i < FIRST_WARMUP; i++) {
    sock.write(Buffer.alloc(8));
    await read(8);
  }
  for (const size of SIZES) {
    const buf = Buffer.alloc(size, 7);
    const iters = itersFor(size);
    const warm = warmupFor(size);
    let t0 = 0n;
    for (let i = 0; i < warm + iters; i++) {
      if (i === warm) t0 = process.hrtime.bigint();
      sock.write(buf);
      await read(size);
    }
    console.log(JSON.stringify({ size, iters, usRoundTrip: Number(process.hrtime.bigint() - t0) / 1e3 / iters }));
  }
  sock.end();
  server.close();
  await new Promise((r) => child.once('exit', r));
  if (unix) {
    try {
      unlinkSync(path);
    } catch {
      /* the server's close removed it */
    }
  }
}
