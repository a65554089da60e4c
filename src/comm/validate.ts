// Argument checks shared by every call: errors name the call, the caller's rank and the bad value.
import { OrchidError } from '../errors.js';
import { ANY_SOURCE, ANY_TAG } from './wildcards.js';

export const MAX_TAG = 2 ** 31 - 1;

export function checkRank(call: string, me: number, size: number, r: unknown, what: string, allowAny = false): number {
  if (allowAny && r === ANY_SOURCE) return ANY_SOURCE;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 0 || r >= size)
    throw new OrchidError('ERR_RANK', `${call}: ${what} ${String(r)} is not a rank of this communicator (size ${size}; called on rank ${me})`);
  return r;
}

export function checkTag(call: string, me: number, t: unknown, allowAny = false): number {
  if (allowAny && t === ANY_TAG) return ANY_TAG;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 0 || t > MAX_TAG)
    throw new OrchidError('ERR_TAG', `${call}: tag ${String(t)} is not an integer in 0…${MAX_TAG}${allowAny ? ' or ANY_TAG' : ''} (called on rank ${me})`);
  return t;
}

export function checkRoot(call: string, me: number, size: number, root: unknown): number {
  if (typeof root !== 'number' || !Number.isInteger(root) || root < 0 || root >= size)
    throw new OrchidError('ERR_ROOT', `${call}: root ${String(root)} is not a rank of this communicator (size ${size}; called on rank ${me})`);
  return root;
}
