// Scheduled jobs (issue 12): the daily self-test fires at its configured time on a fake clock, a
// failing device shows as failed (in the gateway.self_test event and on /api/status), and every
// job is guarded: an overlapping turn is skipped and counted, a failing one runs again next turn.
import { rmSync } from 'node:fs';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkConfig } from '../../agent/config/load.js';
import type { WgEvent } from '../../agent/event.js';
import { dailyAt, everyAsCron, Jobs } from '../../agent/jobs/scheduler.js';
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
    jobs.add('self-test', { cron: dailyAt('03:30') }, () =>
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

  it('says a period in cron when cron can say it exactly', () => {
    expect(everyAsCron(30)).toBe('*/30 * * * * *');
    expect(everyAsCron(300)).toBe('0 */5 * * * *');
    expect(everyAsCron(45)).toBeUndefined();
    expect(() => dailyAt('25:00')).toThrow();
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
      expect(agent.status().jobs.find((j) => j.name === 'self-test')?.schedule).toBe('0 30 3 * * *');
    } finally {
      await agent.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
