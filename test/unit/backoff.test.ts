// The reconnect policy (issue 7, item 2): the backoff resets only after a connection stayed up
// for stableMs, a drop is never followed by an immediate retry, and a session taken over is
// recognised (0x8E, or quick drops in a row) and retried at the longest delay. Fake timers.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Backoff, maxAttemptsWithin } from '../../agent/uplink/backoff.js';
import { ConnectPolicy, failureReason, hintFor, reasonName } from '../../agent/uplink/connect-policy.js';

const opts = { minMs: 100, maxMs: 1600, stableMs: 30_000 };

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Backoff', () => {
  it('doubles from minMs to maxMs, each delay in [cap/2, cap] whatever the jitter', () => {
    for (const r of [0, 0.5, 0.999]) {
      const b = new Backoff({ minMs: 100, maxMs: 1600, random: () => r });
      const delays = Array.from({ length: 8 }, () => b.next());
      const caps = [100, 200, 400, 800, 1600, 1600, 1600, 1600];
      delays.forEach((d, i) => {
        expect(d).toBeGreaterThanOrEqual((caps[i] as number) / 2);
        expect(d).toBeLessThanOrEqual(caps[i] as number);
      });
    }
  });

  it('saturate() goes straight to the longest delays', () => {
    const b = new Backoff({ minMs: 100, maxMs: 1600, random: () => 0 });
    b.saturate();
    expect(b.next()).toBe(800);
  });

  it('maxAttemptsWithin counts the shortest possible delays from a reset', () => {
    // delays at least 50, 100, 200, 400, 800, 800…: 50+100+200+400 = 750 ≤ 1000 < 1550
    expect(maxAttemptsWithin({ minMs: 100, maxMs: 1600 }, 1000)).toBe(5);
    expect(maxAttemptsWithin({ minMs: 100, maxMs: 1600 }, 10_000)).toBe(1 + 4 + Math.floor((10_000 - 750) / 800));
    expect(() => maxAttemptsWithin({ minMs: 0, maxMs: 10 }, 1000)).toThrow(RangeError);
  });
});

describe('ConnectPolicy', () => {
  it('does not reset the backoff on CONNACK: short connections keep backing off', () => {
    const p = new ConnectPolicy({ ...opts, random: () => 0 });
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      p.connected();
      vi.advanceTimersByTime(10_000); // up 10 s, less than stableMs
      delays.push(p.dropped(false));
    }
    expect(delays).toEqual([50, 100, 200, 400, 800, 800]);
    expect(p.takenOver).toBe(false); // 10 s is not a quick drop
  });

  it('resets after a connection stayed up for stableMs; the first retry after a drop still waits', () => {
    const stable = vi.fn();
    const p = new ConnectPolicy({ ...opts, random: () => 0.5 }, stable);
    for (let i = 0; i < 4; i++) p.failed();
    p.connected();
    vi.advanceTimersByTime(29_999);
    expect(stable).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(stable).toHaveBeenCalledWith(false);
    const first = p.dropped(false);
    expect(first).toBeGreaterThanOrEqual(opts.minMs / 2); // never an immediate reconnect
    expect(first).toBeLessThanOrEqual(opts.minMs);
  });

  it('MQTT 5 DISCONNECT 0x8E: taken over at once, retried at the takeover delay (default 30 s), not the short cap', () => {
    const p = new ConnectPolicy({ ...opts, random: () => 0 });
    p.connected();
    vi.advanceTimersByTime(60_000); // even after a long, stable connection
    expect(p.dropped(true)).toBe(15_000);
    expect(p.takenOver).toBe(true);
    const q = new ConnectPolicy({ ...opts, takeoverMs: 8000, random: () => 1 });
    q.connected();
    expect(q.dropped(true)).toBe(8000);
    // An outage is not a takeover: its retries stay within the short cap.
    const r = new ConnectPolicy({ ...opts, random: () => 1 });
    for (let i = 0; i < 10; i++) expect(r.failed()).toBeLessThanOrEqual(opts.maxMs);
  });

  it('no DISCONNECT 0x8E (3.1.1, Mosquitto 2.0.11): three drops in a row within seconds of CONNACK mean a takeover; a stable connection clears it', () => {
    const stable = vi.fn();
    const p = new ConnectPolicy({ ...opts, random: () => 0 }, stable);
    for (let i = 0; i < 2; i++) {
      p.connected();
      vi.advanceTimersByTime(300);
      p.dropped(false);
      expect(p.takenOver).toBe(false);
    }
    p.connected();
    vi.advanceTimersByTime(300);
    expect(p.dropped(false)).toBe(15_000);
    expect(p.takenOver).toBe(true);
    p.connected();
    vi.advanceTimersByTime(opts.stableMs);
    expect(stable).toHaveBeenCalledWith(true);
    expect(p.takenOver).toBe(false);
    expect(p.dropped(false)).toBe(opts.minMs / 2);
  });

  it('a broker that restarts is not a takeover: quick drops with a failed attempt between them never add up', () => {
    // The reconnect bench's rounds: up ~2 s, broker stopped, attempts refused, broker back.
    const p = new ConnectPolicy({ ...opts, random: () => 1 });
    for (let i = 0; i < 6; i++) {
      p.connected();
      vi.advanceTimersByTime(2000);
      expect(p.dropped(false)).toBeLessThanOrEqual(opts.maxMs);
      p.failed(); // ECONNREFUSED while the broker is down
      expect(p.takenOver).toBe(false);
    }
  });

  it('a drop the broker explained (DISCONNECT 0x8B server shutting down) is not a quick drop', () => {
    const p = new ConnectPolicy({ ...opts, random: () => 1 });
    for (let i = 0; i < 5; i++) {
      p.connected();
      vi.advanceTimersByTime(300);
      expect(p.dropped(false, true)).toBeLessThanOrEqual(opts.maxMs);
    }
    expect(p.takenOver).toBe(false);
    expect(p.quickDropsInRow).toBe(0);
  });

  it('a suspected takeover ends at the first failed attempt; one the broker announced (0x8E) waits for a stable connection', () => {
    const p = new ConnectPolicy({ ...opts, random: () => 0 });
    for (let i = 0; i < 3; i++) {
      p.connected();
      vi.advanceTimersByTime(300);
      p.dropped(false);
    }
    expect(p.takenOver).toBe(true);
    p.failed();
    expect(p.takenOver).toBe(false);
    expect(p.quickDropsInRow).toBe(0);

    const q = new ConnectPolicy({ ...opts, random: () => 0 });
    q.connected();
    q.dropped(true);
    q.failed();
    expect(q.takenOver).toBe(true);
  });

  it('a drop cancels the pending reset; stop() leaves no timer', () => {
    const stable = vi.fn();
    const p = new ConnectPolicy(opts, stable);
    p.connected();
    vi.advanceTimersByTime(20_000);
    p.dropped(false);
    p.connected();
    p.stop();
    vi.advanceTimersByTime(60_000);
    expect(stable).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('failure reasons and hints', () => {
  it('names socket, TLS and MQTT reason codes', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(failureReason(refused)).toBe('ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1');
    expect(hintFor(failureReason(refused))).toMatch(/broker running/);
    const auth = Object.assign(new Error('Connection refused: Not authorized'), { code: 0x87 });
    expect(failureReason(auth)).toBe('0x87 not authorized (Connection refused: Not authorized)');
    expect(hintFor(failureReason(auth))).toMatch(/mqtt.username/);
    const tls = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(hintFor(failureReason(tls))).toMatch(/mqtt.tls/);
    expect(reasonName(0x8e)).toBe('0x8e session taken over');
    expect(hintFor('something else')).toBeNull();
  });
});
