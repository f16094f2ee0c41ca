// What device-model tests share: a context that records what a model emits, and a fake clock in
// which Date and the monotonic uptime advance together.
import { pino } from 'pino';
import { afterEach, beforeEach, vi } from 'vitest';
import { uptimeMs } from '../../agent/clock.js';
import type { DeviceModelContext, ModelEvent } from '../../agent/devices/types.js';

export const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);

export function fakeContext() {
  const events: ModelEvent[] = [];
  const outputs: Array<{ id: string; active: boolean; by: string }> = [];
  let stateChanges = 0;
  const ctx: DeviceModelContext = {
    emit: (ev) => events.push(ev),
    stateChanged: () => stateChanges++,
    setOutput: (id, active, by) => outputs.push({ id, active, by }),
    log: pino({ level: 'silent' }),
  };
  return { ctx, events, outputs, stateChanges: () => stateChanges };
}

/** Fake timers from T0 for each test; `at()` is an edge now, `rel(ms)` an edge ms after T0. */
export function useModelClock() {
  let u0 = 0;
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
    u0 = uptimeMs();
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  return {
    at: () => ({ ts: Date.now(), uptimeMs: uptimeMs() }),
    rel: (ms: number) => ({ ts: T0 + ms, uptimeMs: u0 + ms }),
  };
}
