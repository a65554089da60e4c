// What one collective call must agree on across the ranks of its communicator: the call's
// kind, its root, its op and (for builtin reductions) its operand's kind, packed in one
// 32-bit word. On ws every collective message carries the word and a receiver checks it; on
// mpi one agreement step compares the words of all ranks before any other MPI call. A
// difference fails every member with ERR_COLLECTIVE, naming both calls and both ranks.
//   bits 0-4 kind | 5-9 op | 10-14 operand | 15-30 root | 31 CHECK_BIT (ws: the ring check's
//   and the verdict's messages, apart from the call's own)
// Calls built on another one's algorithm (gatherv on gather, reduceScatter on allreduce …)
// are kinds of their own, so they never match the call they are built on.
import { ELEM_BUFFER, ELEMENT_KINDS, REDUCE_OPS } from '../../codec/abi.js';
import { elemCode, ELEM_NONE } from '../../codec/index.js';
import { OrchidError } from '../../errors.js';

export const KINDS = ['barrier', 'bcast', 'scatter', 'gather', 'allgather', 'alltoall', 'reduce', 'allreduce', 'scan', 'exscan', 'split', 'dup', 'splitShared'] as const;
/** kinds built on the algorithm of one above (v-collectives.ts) */
export const BUILT_ON = ['gatherv', 'allgatherv', 'alltoallv', 'reduceScatter', 'reduceScatterBlock'] as const;
const ALL_KINDS: readonly string[] = [...KINDS, ...BUILT_ON];
export type CollKind = (typeof KINDS)[number] | (typeof BUILT_ON)[number];

/** `call` when it names a collective kind of its own (gatherv …), else `base` (the algorithm it runs). */
export function kindOf(call: string, base: CollKind): CollKind {
  return (BUILT_ON as readonly string[]).includes(call) ? (call as CollKind) : base;
}

/**
 * ORCHID_CHECK=0 turns off the steps that make every member fail (ws: the ring check and the
 * verdict barrier; mpi: the agreement step). The ws signature check on each message stays.
 */
export const CHECK = process.env.ORCHID_CHECK !== '0';

const ROOTED = new Set<string>(['bcast', 'scatter', 'gather', 'reduce', 'gatherv']);
const OP_MINLOC = 27;
const OP_MAXLOC = 28;
const OP_CUSTOM_COMMUTE = 29;
const OP_CUSTOM = 30;
const OP_INVALID = 31;
/** op codes past the builtin ones, as describe() names them */
const OTHER_OPS = new Map<number, string>([[OP_MINLOC, 'op minloc'], [OP_MAXLOC, 'op maxloc'], [OP_CUSTOM_COMMUTE, 'op custom function (commute: true)'], [OP_CUSTOM, 'op custom function'], [OP_INVALID, 'invalid op']]);
const ROOT_MASK = (1 << 16) - 1;
/** set in the signature of the messages of the ws ring check and verdict */
export const CHECK_BIT = 0x8000_0000;

/** Operand classes of a builtin reduction (0: not part of the signature). */
const OPERAND = ['', 'number', 'bigint', 'boolean', 'Array', 'other value'] as const;
const TYPED_BASE = OPERAND.length;
const UINT8 = ELEMENT_KINDS.find((k) => k.name === 'Uint8Array')!.code;

/** The operand class of a builtin reduction's value: a Buffer counts as a Uint8Array. */
export function operandClass(value: unknown): number {
  const elem = elemCode(value);
  if (elem !== ELEM_NONE) return TYPED_BASE + (elem === ELEM_BUFFER ? UINT8 : elem);
  switch (typeof value) {
    case 'number': return 1;
    case 'bigint': return 2;
    case 'boolean': return 3;
    default: return Array.isArray(value) ? 4 : 5;
  }
}

/** The op's code in a signature: builtin ops by their code, custom functions and invalid ops apart. */
const OP_CODES = new Map<string, number>([['custom', OP_CUSTOM], ['custom-commute', OP_CUSTOM_COMMUTE], ['minloc', OP_MINLOC], ['maxloc', OP_MAXLOC], ...REDUCE_OPS.map((o, i): [string, number] => [o.name, i + 1])]);

export function opCode(name: string): number {
  return OP_CODES.get(name) ?? OP_INVALID;
}

export function signature(kind: CollKind, root = 0, op = 0, operand = 0): number {
  return ((ALL_KINDS.indexOf(kind) + 1) | (op << 5) | (operand << 10) | ((root & ROOT_MASK) << 15)) >>> 0;
}

/** A builtin reduction's signature carries the operand class; a custom op's does not (it may mix kinds). */
export function reduceSignature(kind: CollKind, opName: string, value: unknown, root: number): number {
  const op = opCode(opName);
  const rooted = ROOTED.has(kind);
  const anyKind = op === OP_CUSTOM || op === OP_CUSTOM_COMMUTE || op === OP_INVALID;
  return signature(kind, rooted ? root : 0, op, anyKind ? 0 : operandClass(value));
}


/** A signature as the call a user wrote: `allreduce(op sum, Float64Array)`, `bcast(root 0)`. */
export function describe(sig: number): string {
  const kind = ALL_KINDS[(sig & 31) - 1] ?? `unknown collective ${sig & 31}`;
  const op = (sig >>> 5) & 31;
  const operand = (sig >>> 10) & 31;
  const parts: string[] = [];
  if (op) parts.push(OTHER_OPS.get(op) ?? `op ${REDUCE_OPS[op - 1]?.name ?? op}`);
  if (ROOTED.has(kind)) parts.push(`root ${(sig >>> 15) & ROOT_MASK}`);
  if (operand) parts.push(operand < TYPED_BASE ? OPERAND[operand]! : (ELEMENT_KINDS.find((k) => k.code === operand - TYPED_BASE)?.name ?? `element kind ${operand - TYPED_BASE}`));
  return `${kind}(${parts.join(', ')})`;
}

/** The error of two ranks whose collective calls differ. */
export function mismatch(call: string, mine: number, me: number, theirs: number, them: number, seq?: number): OrchidError {
  const nth = seq === undefined ? '' : `, collective call #${seq + 1} on this communicator`;
  if (((mine ^ theirs) & ~CHECK_BIT) === 0)
    return new OrchidError('ERR_COLLECTIVE', `${call}: rank ${me} and rank ${them} run ${describe(mine)} with different ORCHID_CHECK settings${nth} (it must be the same on every rank)`);
  return new OrchidError(
    'ERR_COLLECTIVE',
    `${call}: ${describe(mine)} on rank ${me} matched ${describe(theirs)} on rank ${them}${nth} (every rank must make the same collective calls in the same order, with the same root, op and operand kind)`,
  );
}
