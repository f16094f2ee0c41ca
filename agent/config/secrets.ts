// Secrets come from files or environment variables so the YAML can be world-readable.
import { readFileSync } from 'node:fs';
import { WardgateError } from '../errors.js';
import type { Secret } from './types.js';

export function resolveSecret(secret: Secret | undefined, what: string): string | undefined {
  if (secret === undefined) return undefined;
  if (typeof secret === 'string') return secret;
  if ('env' in secret) {
    const v = process.env[secret.env];
    if (v === undefined)
      throw new WardgateError('WG_ERR_SECRET_MISSING', `${what}: environment variable ${secret.env} is not set`);
    return v;
  }
  try {
    return readFileSync(secret.file, 'utf8').trim();
  } catch (err) {
    throw new WardgateError('WG_ERR_SECRET_MISSING', `${what}: cannot read ${secret.file}`, { cause: err });
  }
}
