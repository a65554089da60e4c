// The HPL kernel (src/bench/hpl.ts): real multi-process jobs on 1, 2, 3, 4 and 6 ranks
// (grids 1x1, 1x2, 1x3, 2x2, 2x3) with N not a multiple of NB. Every run must verify
// with HPL's residual, every rank must get the same result, the solution must match an
// independent dense solve done here, and a perturbed solution must fail the check.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { launch } from 'orchid-mpi/launcher';

const RANK = fileURLToPath(new URL('./programs/bench/hpl-rank.mjs', import.meta.url));
const { hplFlops, gridShape, hplN, defaultNb, hplEntry, HPL_EPS, HPL_THRESHOLD } = await import('../dist/bench/hpl.js');

async function job(np, specs) {
  const j = launch({ np, script: RANK, args: [JSON.stringify(specs)], transport: 'ws', timeout: 120 });
  const runs = [];
  const other = [];
  for await (const l of j.output) {
    if (l.rank === 0 && l.text.startsWith('{')) runs.push(JSON.parse(l.text));
    else other.push(`[${l.rank}] ${l.text}`);
  }
  const r = await j.done;
  assert.equal(r.code, 0, `job of ${np} ranks: ${r.message}\n${other.join('\n')}`);
  assert.equal(runs.length, specs.length, other.join('\n'));
  return runs;
}

// ---- an independent reference: the same matrix, generated here, solved by plain Gaussian
// elimination with partial pivoting; and HPL's residual computed here for a given x ----
function system(n, seed) {
  const a = Array.from({ length: n }, (_, i) => Float64Array.from({ length: n }, (_, j) => hplEntry(i, j, seed)));
  const b = Float64Array.from({ length: n }, (_, i) => hplEntry(i, n, seed));
  return { a, b };
}

function denseSolve(n, seed) {
  const { a, b } = system(n, seed);
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(a[i][k]) > Math.abs(a[p][k])) p = i;
    [a[k], a[p]] = [a[p], a[k]];
    [b[k], b[p]] = [b[p], b[k]];
    for (let i = k + 1; i < n; i++) {
      const f = a[i][k] / a[k][k];
      for (let j = k; j < n; j++) a[i][j] -= f * a[k][j];
      b[i] -= f * b[k];
    }
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let j = i + 1; j < n; j++) s -= a[i][j] * x[j];
    x[i] = s / a[i][i];
  }
  return x;
}

function residualOf(n, seed, x) {
  const { a, b } = system(n, seed);
  let r = 0, an = 0, bn = 0, xn = 0;
  for (let i = 0; i < n; i++) {
    let s = 0, row = 0;
    for (let j = 0; j < n; j++) {
      s += a[i][j] * x[j];
      row += Math.abs(a[i][j]);
    }
    r = Math.max(r, Math.abs(s - b[i]));
    an = Math.max(an, row);
    bn = Math.max(bn, Math.abs(b[i]));
  }
  for (const v of x) xn = Math.max(xn, Math.abs(v));
  return r / (2 ** -53 * (an * xn + bn) * n);
}

const maxDiff = (x, y) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
const maxAbs = (x) => x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

const N = 203; // not a multiple of NB, and 13 blocks: every grid gets uneven shares
const NB = 16;
const REF = denseSolve(N, 1);
const GRID = { 1: [1, 1], 2: [1, 2], 3: [1, 3], 4: [2, 2], 6: [2, 3] };

for (const np of [1, 2, 3, 4, 6]) {
  test(`HPL on ${np} rank(s) (grid ${GRID[np].join('x')}): N=${N} NB=${NB} verifies and matches a dense solve; a perturbed x fails on every rank`, { timeout: 120_000 }, async () => {
    const specs = [
      { n: N, nb: NB, returnX: true },
      { n: N, nb: NB, perturb: 1e-3, returnX: true },
      { n: 37, nb: 5, seed: 7 }, // another N, NB and seed
      { n: 10, nb: 16 }, // one block: most ranks hold nothing
    ];
    const [good, bad, other, tiny] = await job(np, specs);

    for (const run of [good, bad, other, tiny]) {
      assert.equal(run.size, np);
      assert.equal(run.results.length, np);
      const r0 = run.results[0];
      assert.deepEqual([r0.p, r0.q], GRID[np]);
      assert.equal(r0.n, run.spec.n);
      assert.equal(r0.nb, run.spec.nb);
      for (const r of run.results) {
        // every rank: the same verdict, residual, time and detail
        assert.equal(r.verified, r0.verified, `rank ${r.rank} disagrees: ${r.detail}`);
        assert.equal(r.residual, r0.residual);
        assert.equal(r.seconds, r0.seconds);
        assert.equal(r.detail, r0.detail);
        assert.ok(r.seconds > 0 && Number.isFinite(r.gflops) && r.gflops > 0, `seconds ${r.seconds}, gflops ${r.gflops}`);
        assert.equal(r.gflops, hplFlops(r.n) / r.seconds / 1e9);
      }
    }

    const g = good.results[0];
    assert.equal(g.verified, true, g.detail);
    assert.ok(g.residual < HPL_THRESHOLD, g.detail);
    assert.match(g.detail, /PASSED/);
    // the solution itself, against the dense solve here (random matrices of this size are well conditioned)
    const x = Float64Array.from(g.x);
    assert.equal(x.length, N);
    const rel = maxDiff(x, REF) / maxAbs(REF);
    assert.ok(rel < 1e-9, `x differs from the dense solve by ${rel} (relative)`);
    const mine = residualOf(N, 1, x);
    assert.ok(mine < HPL_THRESHOLD, `residual recomputed here: ${mine}`);
    for (const r of good.results) assert.deepEqual(r.x, g.x);

    // the perturbed run: the kernel's check must fail, on every rank, and so must ours
    const b = bad.results[0];
    for (const r of bad.results) assert.equal(r.verified, false, `rank ${r.rank} verified a perturbed solution: ${r.detail}`);
    assert.ok(b.residual >= HPL_THRESHOLD, b.detail);
    assert.match(b.detail, /FAILED/);
    const xb = Float64Array.from(b.x);
    assert.ok(Math.abs(xb[0] - x[0] - 1e-3) < 1e-12, 'perturb is added to x[0]');
    assert.deepEqual(Array.from(xb.subarray(1)), Array.from(x.subarray(1)), 'only x[0] is perturbed');
    const mineBad = residualOf(N, 1, xb);
    assert.ok(mineBad >= HPL_THRESHOLD, `perturbed residual recomputed here: ${mineBad}`);
    // our residual and the kernel's agree (same formula, different summation order)
    assert.ok(Math.abs(mineBad - b.residual) / mineBad < 1e-6, `kernel ${b.residual} vs here ${mineBad}`);

    for (const run of [other, tiny]) assert.equal(run.results[0].verified, true, run.results[0].detail);
  });
}

test('HPL at sizes around the block and grid edges on 4 ranks (2x2): N=1, N<NB, N=k*NB, NB=1, default NB', { timeout: 120_000 }, async () => {
  const specs = [{ n: 1 }, { n: 2, nb: 4 }, { n: 64, nb: 16 }, { n: 65, nb: 16 }, { n: 23, nb: 1 }, { n: 150 }];
  const runs = await job(4, specs);
  for (const run of runs) {
    for (const r of run.results) assert.equal(r.verified, true, `${JSON.stringify(run.spec)} rank ${r.rank}: ${r.detail}`);
    assert.ok(run.results[0].residual < HPL_THRESHOLD);
  }
  assert.equal(runs[5].results[0].nb, defaultNb(150, 2, 2));
});

test('gridShape: P x Q = size, P <= Q, as square as possible', () => {
  const want = { 1: [1, 1], 2: [1, 2], 3: [1, 3], 4: [2, 2], 6: [2, 3], 7: [1, 7], 8: [2, 4], 9: [3, 3], 12: [3, 4], 16: [4, 4], 18: [3, 6] };
  for (const [size, [p, q]] of Object.entries(want)) assert.deepEqual(gridShape(Number(size)), { p, q }, `size ${size}`);
  for (let s = 1; s <= 64; s++) {
    const { p, q } = gridShape(s);
    assert.equal(p * q, s);
    assert.ok(p <= q);
    for (let p2 = p + 1; p2 * p2 <= s; p2++) assert.notEqual(s % p2, 0, `size ${s}: ${p2} would be squarer than ${p}`);
  }
  assert.throws(() => gridShape(0), RangeError);
});

test('hplFlops is HPL\'s count; hplN is the largest multiple of NB that fits', () => {
  assert.equal(hplFlops(1000), (2 / 3) * 1e9 + 1.5e6);
  assert.equal(hplFlops(1), 2 / 3 + 1.5);
  // 8 N^2 <= fraction * memory, N a multiple of nb, and the next multiple does not fit
  for (const [mem, f, nb] of [[4 * 2 ** 30, 0.8, 64], [16 * 2 ** 30, 0.5, 128], [1e9, 1, 1], [123456789, 0.3, 50]]) {
    const n = hplN(mem, f, nb);
    assert.equal(n % nb, 0);
    assert.ok(8 * n * n <= f * mem, `N=${n}`);
    assert.ok(8 * (n + nb) ** 2 > f * mem, `N=${n} + ${nb} would fit too`);
  }
  assert.equal(hplN(8 * 1000 * 1000, 1, 100), 1000); // exactly 8 N^2 bytes
  assert.equal(hplN(8 * 1000 * 1000 - 1, 1, 100), 900);
  assert.equal(hplN(100, 0.8, 64), 0); // not even one block
  // with the ranks given, b and the panel buffers count too: never more, still a multiple of nb
  const plain = hplN(4 * 2 ** 30, 0.8, 64);
  const withRanks = hplN(4 * 2 ** 30, 0.8, 64, 4);
  assert.ok(withRanks <= plain && withRanks >= plain - 8 * 64 && withRanks % 64 === 0, `${withRanks} vs ${plain}`);
  const need = (n) => 8 * n * (n + 1) + 4 * 8 * 64 * (2 * Math.ceil(n / 2) + 3 * Math.ceil(n / 2) + 2 * 64); // 2x2 grid
  assert.ok(need(withRanks) <= 0.8 * 4 * 2 ** 30 && need(withRanks + 64) > 0.8 * 4 * 2 ** 30);
  assert.equal(defaultNb(1000, 1, 1), 64);
  assert.equal(defaultNb(203, 2, 2), 32);
  assert.equal(defaultNb(10, 1, 1), 4);
  assert.equal(HPL_EPS, 2 ** -53);
});

test('hplEntry: deterministic, uniform in [-0.5, 0.5), different seeds give different matrices', () => {
  let lo = Infinity, hi = -Infinity, sum = 0;
  for (let i = 0; i < 100; i++) for (let j = 0; j < 100; j++) {
    const v = hplEntry(i, j, 1);
    assert.equal(v, hplEntry(i, j, 1));
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
    sum += v;
  }
  assert.ok(lo >= -0.5 && lo < -0.49 && hi < 0.5 && hi > 0.49, `${lo} .. ${hi}`);
  assert.ok(Math.abs(sum / 1e4) < 0.02, `mean ${sum / 1e4}`);
  assert.notEqual(hplEntry(3, 4, 1), hplEntry(3, 4, 2));
  assert.notEqual(hplEntry(3, 4, 1), hplEntry(4, 3, 1));
});
