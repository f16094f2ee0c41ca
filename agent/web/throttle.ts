// Failure counting with lockout, for sign-ins (per account and per address) and for bearer tokens
// (per address). Issue 11: the table grew without bound (100k source addresses: +87 MiB) and no
// lockout was ever logged. Now: at most `maxTracked` keys (the one remembered longest goes first,
// O(1) per failure), expired entries pruned as new ones come in, each lockout logged once.
//
// Only a credential that was presented and wrong is counted: a request without any (the page's own
// background requests before sign-in) never is — they made a correct token fail after ~20 s.
import type { Logger } from 'pino';

export interface LockoutOptions {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
  /** Keys remembered at most: failures from many addresses must not grow memory without bound. */
  maxTracked?: number;
}

interface Entry {
  count: number;
  first: number;
  lockedUntil: number;
}

export class Lockouts {
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly what: string,
    private readonly opts: LockoutOptions,
    private readonly log?: Logger,
    /** What is being checked, for the log line: `sign-in`, `bearer token`. */
    private readonly label = 'sign-in',
  ) {}

  get tracked(): number {
    return this.entries.size;
  }

  /** Milliseconds left of a lockout on `key`, 0 when it is not locked. */
  lockedFor(key: string, now = Date.now()): number {
    const e = this.entries.get(key);
    return e && e.lockedUntil > now ? e.lockedUntil - now : 0;
  }

  /** One failure; true when this failure locked the key (logged here, once per lockout). */
  fail(key: string, now = Date.now(), context: Record<string, unknown> = {}): boolean {
    const old = this.entries.get(key);
    const e: Entry =
      old && (now - old.first < this.opts.windowMs || old.lockedUntil > now)
        ? old
        : { count: 0, first: now, lockedUntil: 0 };
    e.count++;
    // Re-inserted at the end: Map order is "least recently failed first", which the bound relies on.
    this.entries.delete(key);
    this.entries.set(key, e);
    this.prune(now);
    if (e.count >= this.opts.maxFailures && e.lockedUntil <= now) {
      e.lockedUntil = now + this.opts.lockMs;
      this.log?.warn(
        {
          code: 'WG_ERR_HTTP_LOCKED_OUT',
          [this.what]: key,
          failures: e.count,
          lockedForSec: this.opts.lockMs / 1000,
          ...context,
        },
        `${this.label}: ${this.what} locked out after repeated failures`,
      );
      return true;
    }
    return false;
  }

  /** A success forgets the key's failures. */
  succeed(key: string): void {
    this.entries.delete(key);
  }

  /** Oldest first: drop entries past their window and lock, then anything beyond the bound. */
  private prune(now: number): void {
    for (const [k, e] of this.entries) {
      if (this.entries.size <= 1) break;
      if (now - e.first < this.opts.windowMs || e.lockedUntil > now) break;
      this.entries.delete(k);
    }
    const max = this.opts.maxTracked ?? 4096;
    while (this.entries.size > max) {
      // Forget a key that is not locked out if one is near the front: a flood of new addresses must
      // not free an address that is locked (it would be a way to unlock it). Bounded scan: O(1).
      let victim: string | undefined;
      let scanned = 0;
      for (const [k, e] of this.entries) {
        victim ??= k;
        if (e.lockedUntil <= now) {
          victim = k;
          break;
        }
        if (++scanned >= 32) break;
      }
      if (victim === undefined) break;
      this.entries.delete(victim);
    }
  }
}
