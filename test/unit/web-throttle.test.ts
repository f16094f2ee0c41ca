// Lockout tables and sessions: bounded and pruned whatever the traffic, each lockout logged once,
// sessions expire when idle.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../agent/log.js';
import { cookieValue, Sessions, sameSecret, sessionCookie } from '../../agent/web/sessions.js';
import { Lockouts } from '../../agent/web/throttle.js';

function capture() {
  const lines: string[] = [];
  const log = createLogger(
    'info',
    new Writable({
      write(c, _e, done) {
        lines.push(String(c));
        done();
      },
    }),
  );
  return { lines, log };
}

describe('lockouts', () => {
  it('locks after maxFailures, logs that once, and unlocks after lockMs', () => {
    const { lines, log } = capture();
    const l = new Lockouts('address', { maxFailures: 3, windowMs: 60_000, lockMs: 10_000 }, log);
    expect(l.fail('10.0.0.1', 1000)).toBe(false);
    expect(l.fail('10.0.0.1', 1001)).toBe(false);
    expect(l.fail('10.0.0.1', 1002)).toBe(true);
    for (let i = 0; i < 20; i++) expect(l.fail('10.0.0.1', 1003 + i)).toBe(false);
    expect(l.lockedFor('10.0.0.1', 2000)).toBeGreaterThan(0);
    expect(l.lockedFor('10.0.0.1', 12_003)).toBe(0);
    log.flush();
    expect(lines.filter((x) => x.includes('WG_ERR_HTTP_LOCKED_OUT'))).toHaveLength(1);
    expect(lines[0]).toContain('"address":"10.0.0.1"');
  });

  it('failures spread over more than the window do not lock', () => {
    const l = new Lockouts('account', { maxFailures: 3, windowMs: 1000, lockMs: 10_000 });
    for (let i = 0; i < 10; i++) l.fail('alice', i * 2000);
    expect(l.lockedFor('alice', 20_000)).toBe(0);
  });

  it('100,000 source addresses: the table stays at its bound, a locked address stays locked', () => {
    const l = new Lockouts('address', { maxFailures: 3, windowMs: 60_000, lockMs: 60_000, maxTracked: 1000 });
    for (let i = 0; i < 3; i++) l.fail('192.0.2.1', 500);
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 100_000; i++) l.fail(`10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, 1000);
    expect(l.tracked).toBeLessThanOrEqual(1000);
    // A flood of new addresses does not free the locked one.
    expect(l.lockedFor('192.0.2.1', 2001)).toBeGreaterThan(0);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(32 * 1024 * 1024);
  });

  it('prunes expired entries as new failures come in', () => {
    const l = new Lockouts('address', { maxFailures: 5, windowMs: 1000, lockMs: 1000 });
    for (let i = 0; i < 500; i++) l.fail(`a${i}`, 0);
    l.fail('late', 10_000);
    expect(l.tracked).toBe(1);
  });
});

describe('sessions', () => {
  it('expire after the idle time, and a request keeps one alive', () => {
    const s = new Sessions(60_000);
    const { id } = s.create('alice', 0);
    expect(s.get(id, 50_000)?.user).toBe('alice');
    expect(s.get(id, 100_000)?.user).toBe('alice'); // 50 s after the last request
    expect(s.get(id, 200_000)).toBeUndefined();
    expect(s.size).toBe(0);
  });

  it('are bounded: the one idle longest goes first', () => {
    const s = new Sessions(60_000, 3);
    const ids = ['a', 'b', 'c'].map((u, i) => s.create(u, i).id);
    s.get(ids[0], 10); // a is used again: b is now the idle-longest
    s.create('d', 11);
    expect(s.size).toBe(3);
    expect(s.get(ids[1], 12)).toBeUndefined();
    expect(s.get(ids[0], 12)?.user).toBe('a');
  });

  it('cookie helpers: HttpOnly, SameSite=Strict, Secure only under HTTPS; constant-time compare', () => {
    expect(sessionCookie('x', false)).toBe('wg_session=x; Path=/; HttpOnly; SameSite=Strict');
    expect(sessionCookie('x', true)).toContain('; Secure');
    expect(cookieValue('a=1; wg_session=abc; b=2', 'wg_session')).toBe('abc');
    expect(cookieValue(undefined, 'wg_session')).toBeUndefined();
    expect(sameSecret('abc', 'abc')).toBe(true);
    expect(sameSecret('abd', 'abc')).toBe(false);
    expect(sameSecret(undefined, 'abc')).toBe(false);
  });
});
