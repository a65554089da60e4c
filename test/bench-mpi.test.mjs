// bench/mpi-vs-c.mjs's arithmetic (bench/mpi-analysis.mjs): a ratio against a C reference
// that is far off its quiet rerun is refused, never printed ("orchid faster than C").
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareRow, median, pct, steady } from '../bench/mpi-analysis.mjs';

test('a row whose C figure is more than 1.5x off its quiet rerun gets no ratio', () => {
  // 2026-12-01: C 1467 µs at 4 MiB in the runs, 390 µs alone; orchid looked 3x faster than C
  const off = compareRow('ping-pong 4 MiB', { c: 1467, quiet: 390, orchid: 480, cBw: 2859, orchidBw: 8738 }, true);
  assert.equal(off.steady, false);
  assert.equal(off.bw_ratio, undefined);
  const fine = compareRow('ping-pong 4 MiB', { c: 400, quiet: 390, orchid: 480, cBw: 10486, orchidBw: 8738 }, true);
  assert.equal(fine.steady, true);
  assert.ok(Math.abs(fine.bw_ratio - 0.833) < 0.001);
  const lat = compareRow('allreduce', { c: 0.8, quiet: 0.75, orchid: 3.4 }, false);
  assert.ok(Math.abs(lat.diff_us - 2.6) < 1e-9);
  assert.ok(Math.abs(lat.speed_ratio - 0.8 / 3.4) < 1e-9);
  assert.equal(steady(1, 0.6), false, 'slower alone than in the runs is off too');
  assert.equal(steady(1, 0.7), true);
});

test('medians and percentiles', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  const xs = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(pct(xs, 50), 51);
  assert.equal(pct(xs, 99), 100);
});
