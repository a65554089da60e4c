// Challenge-response with the job secret: the secret itself never crosses the wire.
// Used by the rank-to-rank mesh and by the coordinator.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const NONCE_BYTES = 16;

export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

export function newSecret(): Buffer {
  return randomBytes(32);
}

/** Proof that the holder of `secret` saw `nonce`; `role` keeps the two directions apart. */
export function proof(secret: Buffer, nonce: Buffer, role: string): Buffer {
  return createHmac('sha256', secret).update(role).update(nonce).digest();
}

export function checkProof(secret: Buffer, nonce: Buffer, role: string, got: Buffer | Uint8Array): boolean {
  const want = proof(secret, nonce, role);
  return got.length === want.length && timingSafeEqual(want, got);
}
