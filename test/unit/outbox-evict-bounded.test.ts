// Evictions are bounded, because they run on the event loop that commits alarms:
//  - age: a sweep with a large backlog past its age (the first after a long power-off, a lowered
//    maxAgeHours) deletes AGE_EVICT_CHUNK rows per transaction and goes on at the next turns, so an
//    alarm offered meanwhile is committed between chunks, not after all of them;
//  - cap: a telemetry commit over the cap frees at most CAP_EVICT_SLACK_BYTES below it (it used to
//    free 10% of the cap inside the commit), an alarm's own commit only what it needs.
import { afterEach, describe, expect, it } from 'vitest';
import { makeEvent, type WgEvent } from '../../agent/event.js';
import { AGE_EVICT_CHUNK, CAP_EVICT_SLACK_BYTES } from '../../agent/outbox/core.js';
import type { Outbox } from '../../agent/outbox/store.js';
import { testOutbox, testSource } from '../helpers/outbox.js';

const N = 2 * AGE_EVICT_CHUNK + 500;
const telemetry = (n: number) =>
  makeEvent(testSource, {
    device: 'm',
    deviceType: 'generic-input',
    type: 'input.active',
    severity: 'low',
    data: { n },
  });
const turn = () => new Promise((r) => setImmediate(r));

let o: Outbox | undefined;
afterEach(async () => {
  await o?.close();
  o = undefined;
});

describe('age eviction', () => {
  it('deletes a large backlog in chunks, and an alarm offered meanwhile is committed between them', async () => {
    const own: WgEvent[] = [];
    o = testOutbox({ maxAgeMs: { low: 3600_000 }, onOwnEvent: (e) => own.push(e) });
    const box = o;
    for (let i = 0; i < N; i += 1000)
      await Promise.all(Array.from({ length: Math.min(1000, N - i) }, (_, k) => box.accept(telemetry(i + k))));
    expect(box.depth).toBe(N);

    const later = Date.now() + 2 * 3600_000;
    expect(box.evictByAge(later)).toBe(AGE_EVICT_CHUNK);
    let depthWhenAlarmCommitted = -1;
    const alarm = box
      .accept(
        makeEvent(testSource, { device: 'p', deviceType: 'panic-button', type: 'panic.pressed', severity: 'critical' }),
      )
      .then((e) => {
        depthWhenAlarmCommitted = box.depth;
        return e;
      });
    await alarm;
    // Committed while telemetry past its age was still there: the sweep had not finished.
    expect(depthWhenAlarmCommitted).toBeGreaterThan(AGE_EVICT_CHUNK / 2);
    for (let i = 0; i < 10 && own.filter((e) => e.type === 'gateway.outbox_evicted').length < 3; i++) await turn();
    const evictions = own.filter((e) => e.type === 'gateway.outbox_evicted');
    expect(evictions.map((e) => (e.data as { count: number }).count)).toEqual([AGE_EVICT_CHUNK, AGE_EVICT_CHUNK, 500]);
    expect(evictions.every((e) => (e.data as { reason: string }).reason === 'age')).toBe(true);
    // Left: the alarm and the three eviction events (never evicted by age themselves).
    expect(box.depth).toBe(1 + evictions.length);
  });
});

describe('cap eviction', () => {
  it('frees about 1 MiB below the cap in a telemetry commit, and only what it needs in an alarm commit', async () => {
    const own: WgEvent[] = [];
    const cap = 16 * 1024 * 1024;
    o = testOutbox({ maxBytes: cap, onOwnEvent: (e) => own.push(e) });
    const box = o;
    const bytes = () => box.stats().reduce((a, l) => a + l.bytes, 0);
    const evictions = () => own.filter((e) => e.type === 'gateway.outbox_evicted');
    let n = 0;
    while (evictions().length === 0) await Promise.all(Array.from({ length: 500 }, () => box.accept(telemetry(n++))));
    const rowBytes = bytes() / box.depth;
    const first = (evictions()[0]?.data as { count: number } | undefined)?.count ?? 0;
    // One commit of 500 rows went over: it freed its overshoot and the slack, not 10% (1.6 MiB).
    expect(first * rowBytes).toBeLessThanOrEqual(CAP_EVICT_SLACK_BYTES + 500 * rowBytes);
    expect(first * rowBytes).toBeGreaterThanOrEqual(CAP_EVICT_SLACK_BYTES);
    expect(bytes()).toBeLessThanOrEqual(cap);

    // Fill one row at a time until the next row would not fit; then an alarm bigger than a row.
    while (bytes() + rowBytes <= cap) await box.accept(telemetry(n++));
    const before = evictions().length;
    await box.accept(
      makeEvent(testSource, {
        device: 'p',
        deviceType: 'panic-button',
        type: 'panic.pressed',
        severity: 'critical',
        data: { note: 'x'.repeat(1000) },
      }),
    );
    const later = evictions().slice(before);
    expect(later).toHaveLength(1);
    expect((later[0]?.data as { count: number } | undefined)?.count).toBeLessThanOrEqual(8); // its own size (2.5 rows), not the slack (~2,300)
    expect(bytes()).toBeLessThanOrEqual(cap + 2048); // the eviction event's own row (under 2 KiB) may remain over
  }, 30_000);
});
