// Rank lists in messages stay short whatever the job's size: runs become ranges
// ("0-3, 7, 9-9999") and past a few items the rest is counted ("… and 312 more").

/** `[0,1,2,3,7]` -> `0-3, 7`; at most `max` items, then `… and N more ranks`. */
export function formatRanks(ranks: readonly number[], max = 8): string {
  const sorted = [...new Set(ranks)].sort((a, b) => a - b);
  const items: string[] = [];
  let counted = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    if (items.length === max) break;
    items.push(j - i >= 2 ? `${sorted[i]}-${sorted[j]}` : j === i ? `${sorted[i]}` : `${sorted[i]}, ${sorted[j]}`);
    counted += j - i + 1;
    i = j + 1;
  }
  const rest = sorted.length - counted;
  return rest > 0 ? `${items.join(', ')} … and ${rest} more` : items.join(', ');
}
