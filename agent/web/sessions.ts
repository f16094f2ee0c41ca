// Signed-in technicians: an opaque random session id in an HttpOnly, SameSite=Strict cookie
// (Secure under HTTPS), a CSRF token per session, idle expiry. In memory on purpose: a restart
// signs everyone out, which is the safe direction. Bounded: at most `max` sessions, the one idle
// longest is dropped first.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = 'wg_session';

export interface Session {
  user: string;
  csrf: string;
  created: number;
  lastSeen: number;
}

export class Sessions {
  // Keyed by sha256 of the id: a heap dump or a log of this map does not hand out live cookies.
  private readonly byHash = new Map<string, Session>();

  constructor(
    private readonly idleMs: number,
    private readonly max = 256,
  ) {}

  get size(): number {
    return this.byHash.size;
  }

  create(user: string, now = Date.now()): { id: string; session: Session } {
    const id = randomBytes(32).toString('base64url');
    const session = { user, csrf: randomBytes(24).toString('base64url'), created: now, lastSeen: now };
    this.byHash.set(hash(id), session);
    while (this.byHash.size > this.max) {
      const oldest = this.byHash.keys().next().value;
      if (oldest === undefined) break;
      this.byHash.delete(oldest);
    }
    return { id, session };
  }

  /** The live session for a cookie value; touching it keeps it alive (Map order = idle order). */
  get(id: string | undefined, now = Date.now(), touch = true): Session | undefined {
    if (!id || id.length > 100) return undefined;
    const key = hash(id);
    const s = this.byHash.get(key);
    if (!s) return undefined;
    if (now - s.lastSeen > this.idleMs) {
      this.byHash.delete(key);
      return undefined;
    }
    if (touch) {
      s.lastSeen = now;
      this.byHash.delete(key);
      this.byHash.set(key, s);
    }
    return s;
  }

  destroy(id: string | undefined): void {
    if (id) this.byHash.delete(hash(id));
  }
}

function hash(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/** Constant-time string comparison (CSRF tokens). */
export function sameSecret(a: string | undefined, b: string): boolean {
  if (typeof a !== 'string') return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** One cookie's value from a Cookie header (no cookie library for one cookie). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function sessionCookie(id: string, secure: boolean, maxAgeSec?: number): string {
  const parts = [`${SESSION_COOKIE}=${id}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  if (secure) parts.push('Secure');
  if (maxAgeSec !== undefined) parts.push(`Max-Age=${maxAgeSec}`);
  return parts.join('; ');
}
