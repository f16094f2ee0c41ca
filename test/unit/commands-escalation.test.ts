// Escalation (issue 10) on a fake clock: an unacknowledged critical event raises once after
// afterSec; an acknowledged one never does; walk-test and non-critical events are not tracked;
// alarm.ack finds an alarm by id or by seq (given once the outbox accepted it).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Escalation, type TrackedAlarm } from '../../agent/commands/escalation.js';
import { PathMonitor } from '../../agent/uplink/path-monitor.js';

const ev = (id: string, severity = 'critical', data: Record<string, unknown> = {}) => ({
  id,
  device: 'panic-1',
  deviceType: 'panic-button',
  type: 'panic.pressed' as const,
  severity: severity as 'critical',
  ts: new Date().toISOString(),
  data,
});

describe('escalation', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('raises once for an alarm not acknowledged within afterSec, never for an acknowledged one', () => {
    const raised: TrackedAlarm[] = [];
    const esc = new Escalation({ afterSec: 30, raise: (a) => raised.push(a) });
    esc.onEvent(ev('a'));
    esc.onEvent(ev('b'));
    esc.onEvent(ev('a')); // the same event twice (a retry): tracked once
    esc.onAccepted({ id: 'b', seq: 7 });
    vi.advanceTimersByTime(29_000);
    esc.acknowledged(esc.find({ seq: 7 })?.id ?? '');
    expect(raised).toEqual([]);
    vi.advanceTimersByTime(1_000);
    expect(raised.map((a) => a.id)).toEqual(['a']);
    vi.advanceTimersByTime(3_600_000);
    expect(raised.map((a) => a.id)).toEqual(['a']);
    expect(esc.find({ id: 'b' })).toMatchObject({ acknowledged: true, escalated: false, seq: 7 });
    expect(esc.waiting).toBe(0);
  });

  it('tracks critical events only, and not those of a walk test; without afterSec it only remembers', () => {
    const raised: TrackedAlarm[] = [];
    const esc = new Escalation({ afterSec: 5, raise: (a) => raised.push(a) });
    esc.onEvent(ev('h', 'high'));
    esc.onEvent(ev('t', 'critical', { test: true }));
    vi.advanceTimersByTime(60_000);
    expect(raised).toEqual([]);
    expect(esc.find({ id: 'h' })).toBeUndefined();
    const quiet = new Escalation({ afterSec: undefined, raise: (a) => raised.push(a) });
    quiet.onEvent(ev('q'));
    vi.advanceTimersByTime(86_400_000);
    expect(raised).toEqual([]);
    expect(quiet.find({ id: 'q' })).toBeDefined();
  });
});

describe('path monitor', () => {
  it('reports lost once per outage and restored with its length; a first connect is not a restore', () => {
    let now = 1_000;
    const events: Array<[string, Record<string, unknown>]> = [];
    const path = new PathMonitor({ keepaliveSec: 13, event: (t, d) => events.push([t, d]), now: () => now });
    expect(path.status()).toMatchObject({ state: 'never-connected', detectionBoundSec: 19.5 });
    path.connected('mqtts://b:8883');
    now += 60_000;
    path.disconnected('mqtts://b:8883', 'broker connection lost: Keepalive timeout');
    path.disconnected(null, 'closed without CONNACK'); // retries while down: no new event
    now += 4_500;
    path.connected('mqtts://b2:8883');
    expect(events).toEqual([
      [
        'gateway.uplink_lost',
        {
          broker: 'mqtts://b:8883',
          reason: 'broker connection lost: Keepalive timeout',
          detectedBy: 'keepalive',
          upForMs: 60_000,
          detectionBoundSec: 19.5,
        },
      ],
      [
        'gateway.uplink_restored',
        {
          broker: 'mqtts://b2:8883',
          outageMs: 4_500,
          lostAt: new Date(61_000).toISOString(),
          reason: 'broker connection lost: Keepalive timeout',
        },
      ],
    ]);
    expect(path.status()).toMatchObject({ state: 'up', lostCount: 1, lastOutageMs: 4_500 });
  });
});
