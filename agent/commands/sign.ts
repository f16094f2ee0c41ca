// Making a signed envelope: what `wardgate sign` prints, and what the tests and the bench send.
// The reference for an integrator: canonical JSON (RFC 8785) of every field but `signature`,
// signed with Ed25519, signature in base64.
import { type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { type Envelope, signedBytes } from './envelope.js';
import { signBytes } from './keys.js';

export interface SignRequest {
  keyId: string;
  device: string;
  action: string;
  args?: Record<string, unknown>;
  /** Lifetime in seconds (default 60). */
  ttlSec?: number;
  /** Overrides (tests): a fixed id, nonce or issue time. */
  commandId?: string;
  nonce?: string;
  issuedAtMs?: number;
}

export function signEnvelope(key: KeyObject, req: SignRequest): Envelope {
  const issued = req.issuedAtMs ?? Date.now();
  const unsigned = {
    commandId: req.commandId ?? randomUUID(),
    action: req.action,
    device: req.device,
    args: req.args ?? {},
    issuedAt: new Date(issued).toISOString(),
    expiresAt: new Date(issued + (req.ttlSec ?? 60) * 1000).toISOString(),
    nonce: req.nonce ?? randomBytes(18).toString('base64url'),
    keyId: req.keyId,
  };
  return { ...unsigned, signature: signBytes(key, signedBytes(unsigned)) };
}
