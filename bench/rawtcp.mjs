// The reference: a raw TCP ping-pong between two Node processes on loopback (no framing
// beyond counting bytes). `node bench/rawtcp.mjs` prints the same JSON lines as the
// orchid ranks: { size, iters, usRoundTrip }.
import { fork } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
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
  const sock = createConnection(Number(process.argv[3]), '127.0.0.1');
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
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const child = fork(new URL(import.meta.url).pathname, ['echo', String(server.address().port)]);
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
}
