// Bearer tokens for machines (`/api/*`, `/metrics`), stored in the config only as sha256:<hex>.
// Comparison is constant-time; repeated wrong tokens from one address lock it out for a while (a
// technician's laptop on a ward network is not the only thing that can reach this port). A request
// with no token at all is refused but never counted (agent/web/throttle.ts).
import { createHash, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import { type LockoutOptions, Lockouts } from './throttle.js';

export type { LockoutOptions } from './throttle.js';

export function hashToken(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export const TOKEN_LOCKOUT: LockoutOptions = { maxFailures: 10, windowMs: 5 * 60_000, lockMs: 5 * 60_000 };

export class TokenAuth {
  private readonly hashes: Buffer[];
  private readonly failures: Lockouts;

  /** Addresses with failures remembered (for tests and the page). */
  get tracked(): number {
    return this.failures.tracked;
  }

  constructor(tokenHashes: string[], lockout: LockoutOptions = TOKEN_LOCKOUT, log?: Logger) {
    this.hashes = tokenHashes.map((h) => Buffer.from(h.slice('sha256:'.length), 'hex'));
    this.failures = new Lockouts('address', lockout, log, 'bearer token');
  }

  /** Whether `token` is one of the configured ones (constant time per configured token). */
  matches(token: string): boolean {
    // One-shot hash: no Hash object per request (every /api call and every sim press pays this).
    const digest = hash('sha256', token, 'buffer');
    return this.hashes.some((h) => h.length === digest.length && timingSafeEqual(h, digest));
  }

  /**
   * 'none' (no bearer token presented: not counted), 'ok', 'denied' (counted), or 'locked' (too
   * many wrong tokens from this address).
   */
  check(authorization: string | undefined, address: string, now = Date.now()): 'ok' | 'denied' | 'locked' | 'none' {
    // No token: not a token failure, and a signed-in browser on a locked address still works.
    if (!authorization) return 'none';
    if (this.failures.lockedFor(address, now) > 0) return 'locked';
    const m = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (m?.[1] && this.matches(m[1])) {
      this.failures.succeed(address);
      return 'ok';
    }
    this.failures.fail(address, now, { via: 'bearer token' });
    return 'denied';
  }
}
