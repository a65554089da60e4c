// The first three messages on every mesh connection. The listener sends a nonce, the
// connecting rank proves it holds the job secret (bound to its rank), the listener proves
// it back. No frame is accepted before that.
import { checkProof, NONCE_BYTES, newNonce, proof } from '../auth.js';

export const CHALLENGE = 0xa1;
export const RESPONSE = 0xa2;
export const ACCEPT = 0xa3;
const PROOF_BYTES = 32;

export function challenge(nonce: Buffer): Buffer {
  return Buffer.concat([Buffer.from([CHALLENGE]), nonce]);
}

const rankBytes = (rank: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32LE(rank);
  return b;
};

/** The connecting side's answer to a challenge; returns the message and its own nonce. */
export function respond(secret: Buffer, msg: Buffer, rank: number): { reply: Buffer; nonce: Buffer } | undefined {
  if (msg.length !== 1 + NONCE_BYTES || msg[0] !== CHALLENGE) return undefined;
  const theirs = msg.subarray(1);
  const nonce = newNonce();
  const p = proof(secret, Buffer.concat([theirs, rankBytes(rank)]), 'orchid-rank');
  return { reply: Buffer.concat([Buffer.from([RESPONSE]), rankBytes(rank), nonce, p]), nonce };
}

/** The listener checks an answer; on success returns the peer's rank and the accept message. */
export function verify(secret: Buffer, ours: Buffer, msg: Buffer, size: number): { rank: number; accept: Buffer } | undefined {
  if (msg.length !== 1 + 4 + NONCE_BYTES + PROOF_BYTES || msg[0] !== RESPONSE) return undefined;
  const rank = msg.readInt32LE(1);
  if (!(rank >= 0 && rank < size)) return undefined;
  const theirs = msg.subarray(5, 5 + NONCE_BYTES);
  if (!checkProof(secret, Buffer.concat([ours, rankBytes(rank)]), 'orchid-rank', msg.subarray(5 + NONCE_BYTES))) return undefined;
  return { rank, accept: Buffer.concat([Buffer.from([ACCEPT]), proof(secret, theirs, 'orchid-listener')]) };
}

/** The connecting side checks that the listener holds the secret too. */
export function accepted(secret: Buffer, ours: Buffer, msg: Buffer): boolean {
  return msg.length === 1 + PROOF_BYTES && msg[0] === ACCEPT && checkProof(secret, ours, 'orchid-listener', msg.subarray(1));
}

export { newNonce };
