// The arithmetic of bench/mpi-vs-c.mjs, apart so a test can feed it figures: medians,
// percentiles, and the rule that keeps a ratio against an unsteady C reference from print.
/** A C median more than this factor off its quiet reruns (either way) makes a row's ratio refused. */
export const OFF = 1.5;

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The p-th percentile (nearest rank below). */
export function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
}

/** Whether C in the alternating runs (`c`) and C alone afterwards (`quiet`) agree within OFF. */
export function steady(c, quiet) {
  return c > 0 && quiet > 0 && c / quiet <= OFF && quiet / c <= OFF;
}

/**
 * One row: medians of C, of C's quiet reruns and of orchid, the difference, and the ratio
 * (orchid/C bandwidth for `bw`, else C/orchid speed), or no ratio when C was unsteady.
 */
export function compareRow(what, { c, quiet, orchid, cBw, orchidBw }, bw) {
  const ok = steady(c, quiet);
  const r = { what, c_us: c, quiet_c_us: quiet, orchid_us: orchid, diff_us: orchid - c, steady: ok };
  if (bw) r.bw_ratio = ok ? orchidBw / cBw : undefined;
  else r.speed_ratio = ok ? c / orchid : undefined;
  return r;
}
