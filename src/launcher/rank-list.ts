// Rank lists in messages stay short whatever the job's size: runs become ranges
// ("0-3, 7, 9-9999") and past a few items the rest is counted ("… and 312 more").

/** The runs of consecutive numbers in `list` (in the order given): `[0,1,2,5]` -> `[[0,2],[5,5]]`. */
export function runsOf(list: readonly number[]): [number, number][] {
  const runs: [number, number][] = [];
  for (const n of list) {
    const last = runs[runs.length - 1];
    if (last && n === last[1] + 1) last[1] = n;
    else runs.push([n, n]);
  }
  return runs;
}

/** `[0,1,2,3,7]` -> `0-3, 7`; at most `max` items, then `… and N more ranks`. */
export function formatRanks(ranks: readonly number[], max = 8): string {
  const sorted = [...new Set(ranks)].sort((a, b) => a - b);
  const items: string[] = [];
  let counted = 0;
  for (const [a, b] of runsOf(sorted)) {
    if (items.length === max) break;
    items.push(b - a >= 2 ? `${a}-${b}` : a === b ? `${a}` : `${a}, ${b}`);
    counted += b - a + 1;
  }
  const rest = sorted.length - counted;
  return rest > 0 ? `${items.join(', ')} … and ${rest} more` : items.join(', ');
}

/** `[0,1,2,5]` -> `0-2,5` (also the cpu-list syntax of taskset and /proc). */
export function rangeList(list: readonly number[]): string[] {
  return runsOf(list).map(([a, b]) => (a === b ? String(a) : `${a}-${b}`));
}
