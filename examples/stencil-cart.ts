// stencil-cart: heat spreading on a square plate, by Jacobi sweeps on a 2-D grid of ranks.
// The N x N plate's top edge is held at 100 degrees, the other edges at 0; every sweep sets
// each cell to the mean of its four neighbours. dimsCreate() picks the grid of ranks,
// cart() makes it, and each rank holds one block of the plate with a one-cell halo that
// shift() + sendrecv() refresh from the neighbours every sweep (null off the plate's edge:
// nothing is sent or received there). The answer does not depend on the number of ranks.
//
//   npx orchidrun -n 4 examples/stencil-cart.ts [N] [SWEEPS]     (default 100 cells, 2000 sweeps)
import { dimsCreate, init } from 'orchid-mpi';

const N = Number(process.argv[2] ?? 100);
const SWEEPS = Number(process.argv[3] ?? 2000);
if (!Number.isInteger(N) || N < 1 || !Number.isInteger(SWEEPS) || SWEEPS < 0) {
  console.error(`usage: stencil-cart.ts [N] [SWEEPS]  (positive integers; got ${process.argv.slice(2).join(' ')})`);
  process.exit(2);
}

const world = await init();
const dims = dimsCreate(world.size, 2); // e.g. 6 ranks -> 3 x 2
if (dims[0]! > N || dims[1]! > N) {
  if (world.rank === 0) console.error(`a plate of ${N} x ${N} cells is too small for a grid of ${dims.join(' x ')} ranks`);
  process.exit(2);
}
const grid = (await world.cart(dims, [false, false]))!; // every rank is in it: the product is the size
const [py, px] = grid.coords as [number, number];

/** Block [lo, hi) of n cells for grid coordinate c of p. */
const block = (n: number, c: number, p: number): [number, number] => [Math.floor((n * c) / p), Math.floor((n * (c + 1)) / p)];
const [r0, r1] = block(N, py, dims[0]!);
const [c0, c1] = block(N, px, dims[1]!);
const rows = r1 - r0;
const cols = c1 - c0;
const W = cols + 2; // a row of the block with its halo cells
let u = new Float64Array((rows + 2) * W);
let v = new Float64Array((rows + 2) * W);
// the plate's top edge is the halo row above the blocks of grid row 0 (never overwritten)
if (py === 0) for (const a of [u, v]) a.fill(100, 1, cols + 1);

const up = grid.shift(0, 1); // source: the block above, dest: the block below
const left = grid.shift(1, 1); // source: the block to the left, dest: the one to the right
const column = (a: Float64Array, j: number) => Float64Array.from({ length: rows }, (_, i) => a[(i + 1) * W + j]!);
const setColumn = (a: Float64Array, j: number, col: Float64Array) => col.forEach((x, i) => (a[(i + 1) * W + j] = x));

async function exchange(a: Float64Array): Promise<void> {
  const [fromAbove, fromBelow, fromLeft, fromRight] = await Promise.all([
    grid.sendrecv<Float64Array>(a.slice(rows * W, (rows + 1) * W), up.dest, up.source, 1, 1), // my last row goes down
    grid.sendrecv<Float64Array>(a.slice(W, 2 * W), up.source, up.dest, 2, 2), // my first row goes up
    grid.sendrecv<Float64Array>(column(a, cols), left.dest, left.source, 3, 3), // my last column goes right
    grid.sendrecv<Float64Array>(column(a, 1), left.source, left.dest, 4, 4), // my first column goes left
  ]);
  if (fromAbove) a.set(fromAbove, 0);
  if (fromBelow) a.set(fromBelow, (rows + 1) * W);
  if (fromLeft) setColumn(a, 0, fromLeft);
  if (fromRight) setColumn(a, cols + 1, fromRight);
}

await grid.barrier();
const t0 = performance.now();
let change = 0;
for (let t = 0; t < SWEEPS; t++) {
  await exchange(u);
  change = 0;
  for (let i = 1; i <= rows; i++) {
    for (let j = 1; j <= cols; j++) {
      const k = i * W + j;
      const x = 0.25 * (u[k - W]! + u[k + W]! + u[k - 1]! + u[k + 1]!);
      change = Math.max(change, Math.abs(x - u[k]!));
      v[k] = x;
    }
  }
  [u, v] = [v, u];
}
const ms = performance.now() - t0;

let sum = 0;
for (let i = 1; i <= rows; i++) for (let j = 1; j <= cols; j++) sum += u[i * W + j]!;
const mid = Math.floor(N / 2);
const mine = mid >= r0 && mid < r1 && mid >= c0 && mid < c1;
const [total, maxChange, centre] = await Promise.all([
  grid.reduce(sum, 'sum', 0),
  grid.reduce(change, 'max', 0),
  grid.reduce(mine ? u[(mid - r0 + 1) * W + (mid - c0 + 1)]! : -Infinity, 'max', 0),
]);
if (grid.rank === 0) {
  console.log(`plate ${N} x ${N} on a ${dims.join(' x ')} grid of ${world.size} rank${world.size === 1 ? '' : 's'}, ${SWEEPS} sweeps in ${ms.toFixed(1)} ms`);
  console.log(`mean temperature ${(total! / (N * N)).toFixed(10)}, centre ${centre!.toFixed(10)}, last change ${maxChange!.toExponential(3)}`);
}
await world.finalize();
