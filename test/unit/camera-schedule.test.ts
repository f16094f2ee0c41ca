// The ONVIF driver's schedule (fake timers): 50 cameras every 30 s are spread over the interval,
// each camera keeps its slot, and a slow camera delays only itself.

import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CameraSession } from '../../drivers/onvif/check.js';
import { OnvifDriver } from '../../drivers/onvif/driver.js';
import type { Reading } from '../../drivers/types.js';

const target = { host: '127.0.0.1', port: 1, timeoutMs: 5000, snapshot: false };

describe('ONVIF check schedule', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('50 cameras every 30 s: one check per camera per interval, never two in the same 500 ms', async () => {
    const starts: Array<{ at: number; host: string }> = [];
    vi.spyOn(CameraSession.prototype, 'check').mockImplementation(async function (this: CameraSession) {
      starts.push({ at: Date.now(), host: (this as unknown as { target: { host: string } }).target.host });
      return { reach: 'online' };
    });
    const points = Array.from({ length: 50 }, (_, i) => ({
      point: `cam-${i}`,
      target: { ...target, host: `h${i}` },
      checkMs: 30_000,
    }));
    const driver = new OnvifDriver(points);
    const readings: Reading[] = [];
    await driver.start({
      log: pino({ level: 'silent' }),
      signal: new AbortController().signal,
      emit: (r) => readings.push(r),
      fail: () => undefined,
    });
    await vi.advanceTimersByTimeAsync(90_000 - 1);
    expect(starts).toHaveLength(150);
    const times = starts.map((s) => s.at).sort((a, b) => a - b);
    for (let i = 1; i < times.length; i++)
      expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(500);
    // Each camera every 30 s exactly, in its own slot.
    const h7 = starts.filter((s) => s.host === 'h7').map((s) => s.at);
    expect(h7).toEqual([4200, 34_200, 64_200]);
    expect(readings).toHaveLength(150);
    await driver.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(starts).toHaveLength(150);
  });

  it('a camera whose check takes longer than its interval is not checked twice at once, and others keep their slots', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const fast: number[] = [];
    vi.spyOn(CameraSession.prototype, 'check').mockImplementation(async function (this: CameraSession) {
      const host = (this as unknown as { target: { host: string } }).target.host;
      if (host === 'fast') {
        fast.push(Date.now());
        return { reach: 'online' };
      }
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 45_000));
      inFlight--;
      return { reach: 'reachable', errorCode: 'WG_ERR_ONVIF_TIMEOUT' };
    });
    const driver = new OnvifDriver([
      { point: 'slow', target: { ...target, host: 'slow' }, checkMs: 30_000 },
      { point: 'fast', target: { ...target, host: 'fast' }, checkMs: 30_000 },
    ]);
    await driver.start({
      log: pino({ level: 'silent' }),
      signal: new AbortController().signal,
      emit: () => undefined,
      fail: () => undefined,
    });
    await vi.advanceTimersByTimeAsync(120_000);
    expect(maxInFlight).toBe(1);
    expect(fast).toEqual([15_000, 45_000, 75_000, 105_000]);
    expect(driver.health()).toMatchObject({ state: 'degraded', lastErrorCode: 'WG_ERR_ONVIF_TIMEOUT' });
    const stopped = driver.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    await stopped;
  });
});
