// The supervisor's error boundaries: a driver that throws or hangs is restarted with backoff and
// never takes another down; a flooding point is shed, never a reason to restart. Fake timers drive the backoff.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../agent/log.js';
import { Supervisor } from '../../agent/supervisor.js';
import type { Driver, DriverContext, DriverHealth, Reading } from '../../drivers/types.js';

class TestDriver implements Driver {
  starts = 0;
  stops = 0;
  ctx: DriverContext | undefined;
  constructor(
    readonly name: string,
    private readonly behaviour: { failStarts?: number; hangStart?: boolean; hangStop?: boolean } = {},
  ) {}
  async start(ctx: DriverContext): Promise<void> {
    this.starts++;
    this.ctx = ctx;
    if (this.behaviour.hangStart) return new Promise(() => {});
    if (this.starts <= (this.behaviour.failStarts ?? 0)) throw new Error(`start ${this.starts} failed`);
  }
  async stop(): Promise<void> {
    this.stops++;
    if (this.behaviour.hangStop) return new Promise(() => {});
  }
  health(): DriverHealth {
    return { state: 'running' };
  }
  reading(point: string): Reading {
    return { point, value: 1, ts: Date.now(), uptimeMs: 0 };
  }
}

const log = createLogger('fatal');
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function make(opts: Partial<ConstructorParameters<typeof Supervisor>[0]> = {}) {
  const events: string[] = [];
  const readings: Array<[string, string]> = [];
  const sup = new Supervisor(
    {
      log,
      backoff: { minMs: 1000, maxMs: 8000 },
      startTimeoutMs: 5000,
      stopTimeoutMs: 1000,
      floodPerSec: 100,
      ...opts,
    },
    {
      onReading: (d, r) => {
        if (r.point === 'boom') throw new Error('model bug');
        readings.push([d, r.point]);
      },
      onDown: (d, err) => events.push(`down ${d}: ${err.message}`),
      onUp: (d) => events.push(`up ${d}`),
    },
  );
  return { sup, events, readings };
}

describe('supervisor', () => {
  it('restarts a driver whose start throws, with growing backoff, and keeps the others running', async () => {
    const { sup, events } = make({ backoff: { minMs: 1000, maxMs: 8000 } });
    const bad = new TestDriver('bad', { failStarts: 3 });
    const good = new TestDriver('good');
    sup.add(bad);
    sup.add(good);
    await sup.startAll();
    expect([...events].sort()).toEqual(['down bad: start 1 failed', 'up good']);
    await vi.advanceTimersByTimeAsync(1000);
    expect(bad.starts).toBe(2);
    await vi.advanceTimersByTimeAsync(2000);
    expect(bad.starts).toBe(3);
    await vi.advanceTimersByTimeAsync(4000);
    expect(bad.starts).toBe(4);
    expect(events.at(-1)).toBe('up bad');
    expect(sup.health().bad).toMatchObject({ restarts: 3, up: true });
    expect(good.starts).toBe(1);
    await sup.stopAll();
  });

  it('treats a start that hangs as a failure', async () => {
    const { sup, events } = make();
    const d = new TestDriver('hangs', { hangStart: true });
    sup.add(d);
    const started = sup.startAll();
    await vi.advanceTimersByTimeAsync(5000);
    await started;
    expect(events).toEqual(['down hangs: driver hangs start timed out after 5000 ms']);
    expect(sup.health().hangs).toMatchObject({ lastErrorCode: 'WG_ERR_DRIVER_START', up: false });
    await sup.stopAll();
  });

  it('sheds a flooding point for the rest of its second, never restarting the driver or muting other points', async () => {
    const { sup, events, readings } = make({ floodPerSec: 100 });
    const d = new TestDriver('noisy');
    sup.add(d);
    await sup.startAll();
    for (let i = 0; i < 500; i++) d.ctx?.emit(d.reading('chatter'));
    d.ctx?.emit(d.reading('quiet'));
    expect(readings.filter(([, p]) => p === 'chatter')).toHaveLength(100);
    expect(readings.at(-1)).toEqual(['noisy', 'quiet']);
    expect(events).toEqual(['up noisy']);
    expect(d.ctx?.signal.aborted).toBe(false);
    expect(sup.health().noisy).toMatchObject({ up: true, restarts: 0, shedReadings: 400 });
    // The next second, the point is heard again.
    await vi.advanceTimersByTimeAsync(1000);
    d.ctx?.emit(d.reading('chatter'));
    expect(readings.filter(([, p]) => p === 'chatter')).toHaveLength(101);
    expect(d.starts).toBe(1);
    await sup.stopAll();
  });

  it('a model that throws on a reading is contained; the driver keeps delivering', async () => {
    const { sup, readings, events } = make();
    const d = new TestDriver('gpio');
    sup.add(d);
    await sup.startAll();
    d.ctx?.emit(d.reading('boom'));
    d.ctx?.emit(d.reading('after'));
    expect(readings).toEqual([['gpio', 'after']]);
    expect(events).toEqual(['up gpio']);
    await sup.stopAll();
  });

  it('a driver that reports a fault is stopped, emits nothing after, and is restarted', async () => {
    const { sup, readings, events } = make();
    const d = new TestDriver('gpio');
    sup.add(d);
    await sup.startAll();
    const oldCtx = d.ctx;
    oldCtx?.fail(new Error('line vanished'));
    oldCtx?.emit(d.reading('late'));
    expect(readings).toEqual([]);
    expect(events).toEqual(['up gpio', 'down gpio: line vanished']);
    expect(sup.health().gpio).toMatchObject({
      lastError: 'line vanished',
      lastErrorCode: 'WG_ERR_DRIVER_FAULT',
      up: false,
    });
    await vi.advanceTimersByTimeAsync(1000);
    expect(d.stops).toBe(1);
    expect(d.starts).toBe(2);
    await sup.stopAll();
  });

  it('stopAll gives up on a stop that hangs, after the timeout', async () => {
    const { sup } = make();
    sup.add(new TestDriver('stuck', { hangStop: true }));
    await sup.startAll();
    const stopping = sup.stopAll();
    await vi.advanceTimersByTimeAsync(1000);
    await expect(stopping).resolves.toBeUndefined();
  });
});
