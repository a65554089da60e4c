// The first three messages on every mesh connection. The listener sends a nonce, the
// connecting rank proves it holds the job secret (bound to its rank and its byte order), the
// listener proves it back and states its own byte order. No frame is accepted before that.
// Frame headers are little-endian whatever the host (frame.ts), but typed-array payloads
// travel as the sender's raw bytes, so both ends must share a byte order: each side states
// its own in the handshake and the other refuses a mismatch (mesh.ts, out-link.ts).
import { endianness } from 'node:os';
import { checkProof, NONCE_BYTES, newNonce, proof } from '../auth.js';

export const CHALLENGE = 0xa1;
export const RESPONSE = 0xa2;
export const ACCEPT = 0xa3;
const PROOF_BYTES = 32;

/** Byte orders as they travel: one byte at the end of RESPONSE and of ACCEPT. */
export const LITTLE_ENDIAN = 1;
export const BIG_ENDIAN = 2;
/** This host's byte order. */
export const HOST_ORDER = endianness() === 'LE' ? LITTLE_ENDIAN : BIG_ENDIAN;

/** A byte order in words, for messages. */
export function orderName(order: number): string {
  return order === LITTLE_ENDIAN ? 'little-endian' : order === BIG_ENDIAN ? 'big-endian' : `byte order ${order}`;
}

export function challenge(nonce: Buffer): Buffer {
  return Buffer.concat([Buffer.from([CHALLENGE]), nonce]);
}

const rankBytes = (rank: number, order: number) => {
  const b = Buffer.alloc(5);
  b.writeInt32LE(rank);
  b[4] = order;
  return b;
};

/**
 * The connecting side's answer to a challenge: [RESPONSE, rank i32 LE, nonce, proof, order];
 * returns the message and its own nonce. `order` is this side's byte order (a test states another).
 */
export function respond(secret: Buffer, msg: Buffer, rank: number, order = HOST_ORDER): { reply: Buffer; nonce: Buffer } | undefined {
  if (msg.length !== 1 + NONCE_BYTES || msg[0] !== CHALLENGE) return undefined;
  const theirs = msg.subarray(1);
  const nonce = newNonce();
  const p = proof(secret, Buffer.concat([theirs, rankBytes(rank, order)]), 'orchid-rank');
  return { reply: Buffer.concat([Buffer.from([RESPONSE]), rankBytes(rank, order).subarray(0, 4), nonce, p, Buffer.from([order])]), nonce };
}

/**
 * The listener checks an answer; on success returns the peer's rank, the byte order it stated
 * and the accept message [ACCEPT, proof, order] (`order`: the listener's).
 */
export function verify(secret: Buffer, ours: Buffer, msg: Buffer, size: number, order = HOST_ORDER): { rank: number; order: number; accept: Buffer } | undefined {
  if (msg.length !== 1 + 4 + NONCE_BYTES + PROOF_BYTES + 1 || msg[0] !== RESPONSE) return undefined;
  const rank = msg.readInt32LE(1);
  if (!(rank >= 0 && rank < size)) return undefined;
  const theirOrder = msg[msg.length - 1]!;
  const theirs = msg.subarray(5, 5 + NONCE_BYTES);
  const got = msg.subarray(5 + NONCE_BYTES, 5 + NONCE_BYTES + PROOF_BYTES);
  if (!checkProof(secret, Buffer.concat([ours, rankBytes(rank, theirOrder)]), 'orchid-rank', got)) return undefined;
  const p = proof(secret, Buffer.concat([theirs, Buffer.from([order])]), 'orchid-listener');
  return { rank, order: theirOrder, accept: Buffer.concat([Buffer.from([ACCEPT]), p, Buffer.from([order])]) };
}

/**
 * The connecting side checks that the listener holds the secret too; returns the byte order
 * the listener stated, or undefined when the proof fails.
 */
export function accepted(secret: Buffer, ours: Buffer, msg: Buffer): number | undefined {
  if (msg.length !== 1 + PROOF_BYTES + 1 || msg[0] !== ACCEPT) return undefined;
  const order = msg[msg.length - 1]!;
  return checkProof(secret, Buffer.concat([ours, Buffer.from([order])]), 'orchid-listener', msg.subarray(1, 1 + PROOF_BYTES)) ? order : undefined;
}

export { newNonce };
