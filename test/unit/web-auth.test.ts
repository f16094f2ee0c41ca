// Token lockout under failures from many addresses: memory stays bounded, and an address that
// keeps failing is still locked out.
import { describe, expect, it } from 'vitest';
import { hashToken, TokenAuth } from '../../agent/web/auth.js';

describe('token lockout memory', () => {
  it('remembers at most maxTracked addresses while a locked address stays locked', () => {
    const auth = new TokenAuth([hashToken('right')], {
      maxFailures: 3,
      windowMs: 60_000,
      lockMs: 60_000,
      maxTracked: 100,
    });
    for (let i = 0; i < 10_000; i++) auth.check('Bearer wrong', `10.0.${i >> 8}.${i & 255}`, 1000);
    expect(auth.tracked).toBe(100);
    for (let i = 0; i < 3; i++) auth.check('Bearer wrong', '192.0.2.1', 2000);
    expect(auth.check('Bearer right', '192.0.2.1', 2001)).toBe('locked');
    expect(auth.check('Bearer right', '192.0.2.2', 2001)).toBe('ok');
  });
});
