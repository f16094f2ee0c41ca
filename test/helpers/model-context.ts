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

type SinonClock = { now: number; timers?: Record<string, { callAt: number }> };
const REAL_IMMEDIATE = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'hrtime', 'performance'];
const checkPhase = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Node's event loop in miniature, for stall tests: fake timers, fake clocks, but the REAL
 * setImmediate. Node runs due timers, then the poll phase (pipes: gpiomon's edges), then the check
 * phase (setImmediate). `stall(ms, deliver)` reproduces a blocked loop waking up: every timer that
 * fell due fires, then `deliver()` hands over what waited in the pipe, then the check phase runs.
 * `run(ms)` is a free loop: each timer fires at its time and its check phase follows at once.
 */
export function useLoopClock() {
  let u0 = 0;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: REAL_IMMEDIATE as never });
    vi.setSystemTime(T0);
    u0 = uptimeMs();
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const clock = () => (globalThis.setTimeout as unknown as { clock: SinonClock }).clock;
  const nextTimer = (): number | undefined => {
    const times = Object.values(clock().timers ?? {}).map((t) => t.callAt);
    return times.length > 0 ? Math.min(...times) : undefined;
  };
  const flush = async () => {
    for (let i = 0; i < 3; i++) await checkPhase();
  };
  return {
    at: () => ({ ts: Date.now(), uptimeMs: uptimeMs() }),
    rel: (ms: number) => ({ ts: T0 + ms, uptimeMs: u0 + ms }),
    /** Milliseconds since T0 on the fake clock. */
    now: () => Date.now() - T0,
    async run(ms: number): Promise<void> {
      const end = Date.now() + ms;
      for (;;) {
        const next = nextTimer();
        const to = next === undefined || next > end ? end : next;
        vi.advanceTimersByTime(Math.max(0, to - Date.now()));
        await flush();
        if (to >= end && (nextTimer() ?? Number.POSITIVE_INFINITY) > end) return;
      }
    },
    async stall(ms: number, deliver: () => void = () => undefined): Promise<void> {
      vi.advanceTimersByTime(ms);
      deliver();
      await flush();
    },
  };
}
