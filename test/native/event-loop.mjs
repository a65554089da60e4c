// While a receive waits on MPI, the event loop keeps running (timers fire); large typed arrays
// arrive in a buffer of exactly their size; and the sender's buffer may be reused after send().
import { init } from 'orchid-mpi';
const w = await init();
if (w.rank === 1) {
  await new Promise((r) => setTimeout(r, 600));
  const a = new Float64Array(1 << 20).fill(3);
  await w.send(a, 0, 1);
  a.fill(-1);
  await w.send(new Float64Array([1, 2, 3]), 0, 2);
} else if (w.rank === 0) {
  let ticks = 0;
  const t = setInterval(() => ticks++, 20);
  const big = await w.recv(1, 1);
  clearInterval(t);
  const small = await w.recv(1, 2);
  console.log(JSON.stringify({ ticks, len: big.length, byteLength: big.buffer.byteLength, offset: big.byteOffset, first: big[0], last: big[big.length - 1], small: Array.from(small), smallBuf: small.buffer.byteLength }));
}
await w.finalize();
