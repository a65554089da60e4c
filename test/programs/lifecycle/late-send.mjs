// Rank 1 sends and ends (no finalize); rank 0 posts its receives only after rank 1 is known to
// be gone (its connections closed, the launcher reported its exit). The queued messages must
// still be received; only the next receive from rank 1 fails.
import { init } from 'orchid-mpi';

const w = await init();
if (w.rank === 1) {
  await w.send('bye', 0, 3);
  await w.send(new Float64Array(1000).fill(1), 0, 4);
} else {
  await new Promise((r) => setTimeout(r, 2000));
  const got = await w.recv(1, 3);
  const small = await w.recv(1, 4);
  console.log(`got ${got} ${small.length}`);
  try {
    await w.recv(1, 5);
    console.log('no error');
  } catch (e) {
    console.log(`then ${e.code}`);
  }
}
