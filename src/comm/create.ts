// comm.create(group)'s two checks around its split: which colour and key this rank splits
// with (a bad group makes it a non-member, so no rank hangs), and whether the communicator
// made holds exactly the group (members that passed different groups get ERR_COLLECTIVE).
import { OrchidError } from '../errors.js';
import { Group } from './group.js';

export interface CreateSplit {
  /** the caller's argument was bad: thrown after the split */
  bad?: Error;
  /** -1: not a member */
  color: number;
  key: number;
}

/** `members`: the world rank of each member of the communicator create() is called on. */
export function createColor(group: Group, members: readonly number[], rank: number): CreateSplit {
  if (!(group instanceof Group))
    return { bad: new TypeError(`create: expected a Group (comm.group or one made from it), got ${group === null ? 'null' : typeof group} (called on rank ${rank})`), color: -1, key: 0 };
  const mine = new Set(members);
  const stranger = group.ranks.find((w) => !mine.has(w));
  if (stranger !== undefined)
    return { bad: new OrchidError('ERR_RANK', `create: the group holds world rank ${stranger}, which is not a member of this communicator (called on rank ${rank})`), color: -1, key: 0 };
  return group.rank === undefined ? { color: -1, key: 0 } : { color: groupColor(group.ranks), key: group.rank };
}

/** `made`: the world ranks of the communicator the split made, in its rank order. */
export function checkCreated(made: readonly number[], group: Group, rank: number): void {
  if (made.length === group.size && made.every((w, i) => w === group.ranks[i])) return;
  const have = new Set(made);
  const missing = group.ranks.filter((w) => !have.has(w));
  throw new OrchidError(
    'ERR_COLLECTIVE',
    `create: rank ${rank} passed a group of ${group.size} ranks, but ${missing.length ? `world rank${missing.length > 1 ? 's' : ''} ${missing.join(', ')} of it` : 'some of its members'} passed a different group (every member must pass the same group)`,
  );
}

/** The split colour: the same for the ranks that pass the same group, 0 … 2^52. */
function groupColor(members: readonly number[]): number {
  let a = 0x811c9dc5;
  let b = members.length;
  for (const w of members) {
    a = Math.imul(a ^ w, 0x01000193);
    b = Math.imul(b ^ w, 0x5bd1e995) ^ (b >>> 13);
  }
  return (a >>> 0) * 2 ** 20 + ((b >>> 0) & 0xfffff);
}
