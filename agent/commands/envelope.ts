// The signed command envelope (DESIGN §7, issue 10) and the first check: is it well-formed. Nothing
// here trusts the content; the signature is checked after (verify.ts). Every field is bounded, and
// unknown fields are refused: what is signed is exactly what is executed, nothing more.
import { CanonicalError, canonicalBytes } from './canonical.js';

export interface Envelope {
  commandId: string;
  action: string;
  /** A device id, an output id, or `gateway` for the box; equals the topic's `cmd/{device}`. */
  device: string;
  args: Record<string, unknown>;
  /** RFC 3339 UTC times (`2026-12-01T10:00:00.000Z`). */
  issuedAt: string;
  expiresAt: string;
  nonce: string;
  keyId: string;
  /** Ed25519 signature (64 bytes, base64) over `signedBytes(envelope)`. */
  signature: string;
}

/** Why a command was refused; stable, in the order the checks run (README: Commands). */
export const REJECT_REASONS = [
  'malformed',
  'unknown-key',
  'bad-signature',
  'expired',
  'not-yet-valid',
  'replay',
  'not-allowed',
  'unsupported',
  'unknown-target',
  'unknown-alarm',
  'failed',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export class CommandRejected extends Error {
  constructor(
    readonly reason: RejectReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

const FIELDS = ['commandId', 'action', 'device', 'args', 'issuedAt', 'expiresAt', 'nonce', 'keyId', 'signature'];
const ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const TOPIC_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ACTION = /^[a-z]+\.[a-z_]+$/;
const NONCE = /^[A-Za-z0-9_+/=-]{16,128}$/;
const B64_SIG = /^[A-Za-z0-9+/]{86}==$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
/** A command lives at most a day: it bounds how long its nonce must be kept. */
export const MAX_LIFETIME_MS = 24 * 3_600_000;
/** Canonical args at most this long (the whole packet is already bounded to 64 KiB). */
const MAX_ARGS_BYTES = 4096;

const fail = (detail: string): never => {
  throw new CommandRejected('malformed', detail);
};

export function parseTime(s: string, field: string): number {
  const ms = TIME.test(s) ? Date.parse(s) : Number.NaN;
  if (!Number.isFinite(ms)) fail(`${field} is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SS[.sss]Z)`);
  return ms;
}

/**
 * Parse and check the shape of a payload received on `cmd/{topicDevice}`. Throws CommandRejected
 * ('malformed') with what is wrong; returns the envelope with its two times in ms.
 */
export function parseEnvelope(
  payload: Buffer | string,
  topicDevice: string,
): { env: Envelope; issuedMs: number; expiresMs: number } {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    return fail('not JSON');
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return fail('not a JSON object');
  const o = doc as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIELDS.includes(k)) fail(`unknown field "${k.slice(0, 40)}"`);
  for (const k of FIELDS) if (!(k in o)) fail(`${k} is required`);
  const str = (k: string, re: RegExp, what: string): string => {
    const v = o[k];
    if (typeof v !== 'string' || !re.test(v)) fail(`${k} is not ${what}`);
    return v as string;
  };
  const env: Envelope = {
    commandId: str('commandId', ID, 'an id (1-128 of A-Z a-z 0-9 _ . : -)'),
    action: str('action', ACTION, 'an action name (like output.pulse)'),
    device: str('device', TOPIC_ID, 'a device id'),
    args: o.args as Record<string, unknown>,
    issuedAt: str('issuedAt', TIME, 'an RFC 3339 UTC time'),
    expiresAt: str('expiresAt', TIME, 'an RFC 3339 UTC time'),
    nonce: str('nonce', NONCE, '16-128 characters of base64/base64url'),
    keyId: str('keyId', TOPIC_ID, 'a key id'),
    signature: str('signature', B64_SIG, 'a base64 Ed25519 signature (64 bytes)'),
  };
  if (!env.args || typeof env.args !== 'object' || Array.isArray(env.args)) fail('args is not an object');
  if (env.device !== topicDevice) fail(`device "${env.device}" is not the topic's "${topicDevice}"`);
  const issuedMs = parseTime(env.issuedAt, 'issuedAt');
  const expiresMs = parseTime(env.expiresAt, 'expiresAt');
  if (expiresMs <= issuedMs) fail('expiresAt is not after issuedAt');
  if (expiresMs - issuedMs > MAX_LIFETIME_MS) fail('expiresAt is more than 24 h after issuedAt');
  try {
    if (canonicalBytes(env.args).length > MAX_ARGS_BYTES) fail(`args longer than ${MAX_ARGS_BYTES} bytes`);
  } catch (err) {
    if (err instanceof CanonicalError) fail(`args: ${err.message}`);
    throw err;
  }
  return { env, issuedMs, expiresMs };
}

/** The bytes the signature covers: RFC 8785 canonical JSON of every field but `signature`. */
export function signedBytes(env: Omit<Envelope, 'signature'> & { signature?: string }): Buffer {
  const { signature: _omit, ...rest } = env;
  return canonicalBytes(rest);
}
