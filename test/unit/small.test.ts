// Small pieces with sharp edges: ids, backoff, tokens, passwords.
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../agent/uplink/backoff.js';
import { uuidv7 } from '../../agent/uuidv7.js';
import { hashToken, TokenAuth } from '../../agent/web/auth.js';
import { hashPassword, verifyPassword } from '../../agent/web/password.js';

describe('uuidv7', () => {
  it('is RFC 9562 version 7 and strictly increasing within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7(1_700_000_000_000));
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const sorted = [...ids].sort();
    expect(sorted).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('encodes the millisecond timestamp in the first 48 bits', () => {
    const t = Date.UTC(2026, 10, 22, 10, 0, 0, 123);
    expect(Number.parseInt(uuidv7(t).replace(/-/g, '').slice(0, 12), 16)).toBeGreaterThanOrEqual(t);
  });
});

describe('backoff', () => {
  it('grows exponentially to the cap, with jitter in [cap/2, cap]', () => {
    const lo = new Backoff({ minMs: 100, maxMs: 2000, random: () => 0 });
    const hi = new Backoff({ minMs: 100, maxMs: 2000, random: () => 1 });
    expect(Array.from({ length: 7 }, () => lo.next())).toEqual([50, 100, 200, 400, 800, 1000, 1000]);
    expect(Array.from({ length: 7 }, () => hi.next())).toEqual([100, 200, 400, 800, 1600, 2000, 2000]);
    hi.reset();
    expect(hi.next()).toBe(100);
  });
});

describe('token auth', () => {
  it('accepts only the hashed token, and locks out after repeated failures', () => {
    const auth = new TokenAuth([hashToken('right')], { maxFailures: 3, windowMs: 1000, lockMs: 5000 });
    expect(auth.check('Bearer right', 'a', 0)).toBe('ok');
    expect(auth.check('Bearer wrong', 'a', 0)).toBe('denied');
    // No credential at all (a page's own background request) is not a failed attempt (issue 11).
    expect(auth.check(undefined, 'a', 1)).toBe('none');
    expect(auth.check('Bearer wrong', 'a', 1)).toBe('denied');
    expect(auth.check('Bearer wrong', 'a', 2)).toBe('denied');
    expect(auth.check('Bearer right', 'a', 3)).toBe('locked');
    expect(auth.check('Bearer right', 'b', 3)).toBe('ok'); // another address is unaffected
    expect(auth.check('Bearer right', 'a', 5003)).toBe('ok');
  });
});

describe('passwords', () => {
  it('scrypt hashes verify only the right password', async () => {
    const h = await hashPassword('correct horse battery');
    expect(h).toMatch(/^scrypt:16384:8:1:/);
    expect(await verifyPassword('correct horse battery', h)).toBe(true);
    expect(await verifyPassword('wrong', h)).toBe(false);
  });
});
