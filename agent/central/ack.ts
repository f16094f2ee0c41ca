// Acknowledging an alarm from the control room (issue 15 on top of issue 10): an `alarm.ack`
// envelope signed exactly as `wardgate sign` does (agent/commands/sign.ts: RFC 8785 canonical JSON,
// Ed25519), published to the alarm's device on its gateway. The gateway answers on
// `cmd-result/{device}` and, when the LED is lit, with an `alarm.acknowledged` event (`ledLit`).
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Envelope } from '../commands/envelope.js';
import { privateKeyFromPem } from '../commands/keys.js';
import { signEnvelope } from '../commands/sign.js';

export interface AckTarget {
  gateway: string;
  device: string;
  /** The alarm event's id, or its seq. */
  id?: string;
  seq?: number;
}

export interface AckSigner {
  key: KeyObject;
  keyId: string;
  /** Who acknowledged (args.by, at most 80 characters); the gateway adds the key id. */
  by?: string;
  ttlSec?: number;
}

export function loadSigner(file: string, keyId: string, by?: string): AckSigner {
  return { key: privateKeyFromPem(readFileSync(file)), keyId, ...(by ? { by: by.slice(0, 80) } : {}) };
}

export function ackCommand(
  prefix: string,
  target: AckTarget,
  signer: AckSigner,
): { topic: string; envelope: Envelope } {
  const args: Record<string, unknown> = target.id !== undefined ? { id: target.id } : { seq: target.seq };
  if (signer.by) args.by = signer.by;
  const envelope = signEnvelope(signer.key, {
    keyId: signer.keyId,
    device: target.device,
    action: 'alarm.ack',
    args,
    ttlSec: signer.ttlSec ?? 60,
  });
  return { topic: `${prefix}/${target.gateway}/cmd/${target.device}`, envelope };
}
