// Scheduled jobs (issue 12): the daily self-test fires at its configured time on a fake clock, a
// failing device shows as failed (in the gateway.self_test event and on /api/status), and every
// job is guarded: an overlapping turn is skipped and counted, a failing one runs again next turn.
import { rmSync } from 'node:fs';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkConfig } from '../../agent/config/load.js';
import type { WgEvent } from '../../agent/event.js';
import { Jobs, nextLocal, timeOfDay } from '../../agent/jobs/scheduler.js';
import { runSelfTest, type SelfTestSubject } from '../../agent/jobs/self-test.js';
import { Agent } from '../../agent/runtime.js';
import { SimGpioBackend } from '../../drivers/gpio/sim.js';
import { tempDir } from '../helpers/config.js';
import { waitFor } from '../helpers/ports.js';

const log = pino({ level: 'silent' });

function subject(offline: string[]): SelfTestSubject {
  return {
    devices: () =>
      ['panic-1', 'panic-2'].map((id) => ({ id, online: !offline.includes(id), reason: 'GPIO line 4: gone' })),
    drivers: () => ({ gpio: { state: 'running', up: true, restarts: 0 } }),
    lastSuccess: () => Date.now() - 30_000,
    outbox: () => ({ diskLow: false, alarmsOverCap: false, quarantined: false, depth: 3, oldestMs: undefined }),
    dataDir: '/',
    clockSynced: () => true,
    uplinkConnected: () => true,
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('jobs scheduler', () => {
  it('runs the self-test at the configured time of day (fake clock), once a day', async () => {
    vi.useFakeTimers({ now: new Date(2026, 5, 1, 3, 29, 0) }); // local time, as a box runs
    const jobs = new Jobs(log);
    const reports: ReturnType<typeof runSelfTest>[] = [];
    jobs.add('self-test', { daily: '03:30' }, () =>
      reports.push(runSelfTest(subject(['panic-2']), { diskMinFreeMb: 0, freeBytes: () => 1e9 })),
    );
    await vi.advanceTimersByTimeAsync(59_000);
    expect(reports).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(reports).toHaveLength(1);
    const r = reports[0];
    expect(new Date(r?.at ?? 0).getHours()).toBe(3);
    expect(new Date(r?.at ?? 0).getMinutes()).toBe(30);
    expect(r?.ok).toBe(false);
    expect(r?.items.find((i) => i.item === 'device:panic-2')).toEqual({
      item: 'device:panic-2',
      ok: false,
      detail: 'offline: GPIO line 4: gone',
    });
    expect(r?.items.find((i) => i.item === 'device:panic-1')?.ok).toBe(true);
    expect(r?.items.find((i) => i.item === 'driver:gpio')).toMatchObject({ ok: true });
    expect(r?.items.map((i) => i.item)).toEqual([
      'device:panic-1',
      'device:panic-2',
      'driver:gpio',
      'outbox',
      'disk',
      'clock',
      'uplink',
    ]);
    await vi.advanceTimersByTimeAsync(24 * 3600_000);
    expect(reports).toHaveLength(2);
    jobs.stopAll();
  });

  it('skips an overlapping turn and survives a failing one', async () => {
    vi.useFakeTimers({ now: new Date(2026, 5, 1, 12, 0, 0) });
    const jobs = new Jobs(log);
    let release: () => void = () => {};
    let calls = 0;
    jobs.add('slow', { everySec: 10 }, () => {
      calls++;
      return new Promise<void>((r) => {
        release = r;
      });
    });
    let throws = 0;
    jobs.add('bad', { everySec: 10 }, () => {
      throws++;
      throw new Error('disk said no');
    });
    await vi.advanceTimersByTimeAsync(10_000);
    await vi.advanceTimersByTimeAsync(10_000); // slow still running: skipped
    const slow = jobs.states().find((s) => s.name === 'slow');
    expect(calls).toBe(1);
    expect(slow?.overlapsSkipped).toBe(1);
    release();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls).toBe(2);
    const bad = jobs.states().find((s) => s.name === 'bad');
    expect(throws).toBe(3);
    expect(bad).toMatchObject({ failures: 3, lastError: 'disk said no', running: false });
    jobs.stopAll();
  });

  it('finds the next time of day in the box time, across both DST changes', () => {
    expect(timeOfDay('03:30')).toEqual([3, 30]);
    expect(() => timeOfDay('25:00')).toThrow(/HH:MM/);
    const tz = process.env.TZ;
    process.env.TZ = 'Europe/London'; // node re-reads the zone when TZ is assigned
    try {
      const at = (iso: string) => new Date(iso).getTime();
      expect(new Date(nextLocal(at('2026-06-01T01:00:00Z'), [3, 30])).toISOString()).toBe('2026-06-01T02:30:00.000Z');
      // At the turn itself: the next day's.
      expect(new Date(nextLocal(at('2026-06-01T02:30:00Z'), [3, 30])).toISOString()).toBe('2026-06-02T02:30:00.000Z');
      // 29 March 2026: 01:00 GMT → 02:00 BST. 01:30 does not exist that day: it runs at 02:30 BST.
      expect(new Date(nextLocal(at('2026-03-29T00:00:00Z'), [1, 30])).toISOString()).toBe('2026-03-29T01:30:00.000Z');
      // The day after a change keeps the wall time: 03:30 GMT, then 03:30 BST.
      expect(new Date(nextLocal(at('2026-03-28T12:00:00Z'), [3, 30])).toISOString()).toBe('2026-03-29T02:30:00.000Z');
      // 25 October 2026: 01:30 happens twice; the first (BST) is the turn, and only one.
      const first = nextLocal(at('2026-10-24T12:00:00Z'), [1, 30]);
      expect(new Date(first).toISOString()).toBe('2026-10-25T00:30:00.000Z');
      expect(new Date(nextLocal(first, [1, 30])).toISOString()).toBe('2026-10-26T01:30:00.000Z');
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
  });

  it('follows the wall clock when it is stepped: a passed turn is not run, a turn stepped back to is', async () => {
    vi.useFakeTimers({ now: new Date(2026, 5, 1, 3, 0, 0) });
    const lines: string[] = [];
    const said = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const jobs = new Jobs(said);
    let runs = 0;
    jobs.add('self-test', { daily: '03:30' }, () => {
      runs++;
    });
    // NTP steps the clock 2 h forward (a box without an RTC booted at its last saved time).
    vi.setSystemTime(new Date(2026, 5, 1, 5, 0, 0));
    await vi.advanceTimersByTimeAsync(61_000);
    expect(runs).toBe(0);
    expect(lines.join('')).toContain('turn passed by a clock step, not run');
    // The next day's turn runs at its wall time.
    vi.setSystemTime(new Date(2026, 5, 2, 3, 29, 0));
    await vi.advanceTimersByTimeAsync(59_000);
    expect(runs).toBe(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(runs).toBe(1);
    // Stepped back an hour: 03:30 comes round again and runs again, as cron would.
    vi.setSystemTime(new Date(2026, 5, 2, 2, 30, 30));
    await vi.advanceTimersByTimeAsync(61_000);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(3600_000);
    expect(runs).toBe(2);
    jobs.stopAll();
    await vi.advanceTimersByTimeAsync(2 * 24 * 3600_000);
    expect(runs).toBe(2);
  });

  it('runs a time of day in jobs.timezone (node-cron), not the box time', async () => {
    // 03:30 in Kolkata (UTC+05:30, no DST) is 22:00 UTC the day before, whatever zone the box has.
    await import('node-cron'); // loaded by the job on first use; here before the clock is faked
    vi.useFakeTimers({ now: new Date('2026-06-01T21:59:00Z') });
    const jobs = new Jobs(log, 'Asia/Kolkata');
    const at: string[] = [];
    jobs.add('self-test', { daily: '03:30' }, () => {
      at.push(new Date().toISOString());
    });
    expect(jobs.states()[0]?.schedule).toBe('daily 03:30 Asia/Kolkata');
    await vi.advanceTimersByTimeAsync(59_000);
    expect(at).toEqual([]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(at).toEqual(['2026-06-01T22:00:00.000Z']);
    jobs.stopAll();
  });

  it('says an unknown jobs.timezone and uses the box time', () => {
    const lines: string[] = [];
    const said = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const jobs = new Jobs(said, 'Mars/Olympus_Mons');
    jobs.add('self-test', { daily: '03:30' }, () => {});
    expect(lines.join('')).toContain('WG_ERR_CONFIG_INVALID');
    expect(jobs.states()[0]?.schedule).toBe('daily 03:30');
    jobs.stopAll();
  });
});

describe('self-test in the agent', () => {
  it('records gateway.self_test with a faulted device as failed, and shows it on /api/status', async () => {
    const dir = tempDir();
    const r = checkConfig({
      gateway: { id: 'ward-st', site: 's', dataDir: dir, clock: { sync: 'assume' } },
      mqtt: { brokers: ['mqtt://127.0.0.1:1'], backoff: { minMs: 50, maxMs: 200 } },
      gpio: { backend: 'sim' },
      jobs: { selfTestAt: '03:30', diskMinFreeMb: 1 },
      devices: [
        { id: 'panic-1', type: 'panic-button', input: { line: 4 } },
        { id: 'panic-2', type: 'panic-button', input: { line: 5 } },
      ],
    });
    if (!r.ok) throw new Error(r.problems.join('\n'));
    let sim: SimGpioBackend | undefined;
    const agent = await Agent.start({
      config: r.config,
      log,
      gpioBackend: () => {
        sim = new SimGpioBackend();
        return sim;
      },
    });
    try {
      const events: WgEvent[] = [];
      agent.outbox.onAccepted((accepted) => events.push(...accepted));
      await waitFor(() => agent.deviceStates().every((d) => d.availability === 'online'), 10_000, 'devices online');
      sim?.fault({ chip: 'gpiochip0', line: 5 }, new Error('helper process died'));
      await waitFor(
        () => agent.deviceStates().find((d) => d.id === 'panic-2')?.availability === 'offline',
        10_000,
        'panic-2 offline',
      );
      expect(await agent.jobs?.run('self-test')).toBe(true);
      const ev = events.find((e) => e.type === 'gateway.self_test');
      expect(ev?.severity).toBe('high');
      const items =
        (ev?.data as { items?: Array<{ item: string; ok: boolean; detail: string }> } | undefined)?.items ?? [];
      expect(items.find((i) => i.item === 'device:panic-2')?.ok).toBe(false);
      expect(items.find((i) => i.item === 'device:panic-2')?.detail).toContain('helper process died');
      expect(items.find((i) => i.item === 'device:panic-1')?.ok).toBe(true);
      expect(items.find((i) => i.item === 'uplink')?.ok).toBe(false); // nothing listens on port 1
      expect(agent.status().selfTest).toEqual(ev?.data);
      expect(agent.status().jobs.map((j) => j.name)).toEqual(
        expect.arrayContaining(['health', 'self-test', 'outbox-maintenance', 'command-nonce-prune', 'box-health']),
      );
      expect(await agent.jobs?.run('command-nonce-prune')).toBe(true);
      expect(agent.status().jobs.find((j) => j.name === 'self-test')?.schedule).toBe('daily 03:30');
    } finally {
      await agent.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
