// Bearer tokens, stored in the config only as sha256:<hex>. Comparison is constant-time; repeated
// failures from one address are locked out for a while (a technician's laptop on a ward network
// is not the only thing that can reach this port).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function hashToken(token: string): string {
  return `sha256:${createHash('sha256').update(token, 'utf8').digest('hex')}`;
}

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export interface LockoutOptions {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
  /** Addresses remembered at most: failures from many addresses must not grow memory without bound. */
  maxTracked?: number;
}

export class TokenAuth {
  private readonly hashes: Buffer[];
  private readonly failures = new Map<string, { count: number; first: number; lockedUntil: number }>();

  /** Addresses with failures remembered (for tests and the page). */
  get tracked(): number {
    return this.failures.size;
  }

  constructor(
    tokenHashes: string[],
    private readonly lockout: LockoutOptions = { maxFailures: 10, windowMs: 5 * 60_000, lockMs: 5 * 60_000 },
  ) {
    this.hashes = tokenHashes.map((h) => Buffer.from(h.slice('sha256:'.length), 'hex'));
  }

  /** 'ok', 'denied', or 'locked' (too many failures from this address). */
  check(authorization: string | undefined, address: string, now = Date.now()): 'ok' | 'denied' | 'locked' {
    const f = this.failures.get(address);
    if (f && f.lockedUntil > now) return 'locked';
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (m?.[1]) {
      const digest = createHash('sha256').update(m[1], 'utf8').digest();
      if (this.hashes.some((h) => h.length === digest.length && timingSafeEqual(h, digest))) {
        this.failures.delete(address);
        return 'ok';
      }
    }
    const entry = f && now - f.first < this.lockout.windowMs ? f : { count: 0, first: now, lockedUntil: 0 };
    entry.count++;
    if (entry.count >= this.lockout.maxFailures) entry.lockedUntil = now + this.lockout.lockMs;
    this.failures.set(address, entry);
    // Forget the address remembered longest (Map order is insertion order): O(1) per failure.
    if (this.failures.size > (this.lockout.maxTracked ?? 4096)) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    return 'denied';
  }
}
