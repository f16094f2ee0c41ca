// Disk-low raised and cleared on a real small tmpfs holding the outbox directory (mounted as root
// in the test, unmounted in teardown), with the real probes: on this VM the temperature sensor and
// the Pi firmware word are absent and must read "unknown".
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { GatewayHealth } from '../../agent/devices/gateway-health.js';
import type { EventType } from '../../agent/event.js';
import { useCleanups } from '../helpers/cleanup.js';
import { tempDir } from '../helpers/config.js';

const cleanup = useCleanups();

describe('box health on a real tmpfs', () => {
  it('gateway.disk_low when the outbox volume fills past the threshold, cleared when freed; no sensor is "unknown"', async () => {
    const dir = tempDir('wg-tmpfs-');
    // Root is required to mount; the test suite runs as root (scripts/test.sh installs peers as root).
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir]);
    cleanup(async () => {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    });
    const events: Array<{ type: EventType; data: Record<string, unknown> }> = [];
    const h = new GatewayHealth({
      config: { intervalSec: 30, diskLowPercent: 50, tempHighC: 80 },
      diskPath: dir,
      emit: (ev) => events.push(ev),
      log: pino({ level: 'silent' }),
    });
    await h.sample();
    expect(events).toEqual([]);
    const filler = join(dir, 'outbox.db');
    writeFileSync(filler, Buffer.alloc(3 * 1024 * 1024, 1));
    await h.sample();
    await h.sample();
    expect(events.map((e) => e.type)).toEqual(['gateway.disk_low']);
    expect(events[0]?.data).toMatchObject({ source: 'health', path: dir, thresholdPercent: 50 });
    expect(events[0]?.data.freePercent).toBeLessThan(50);
    rmSync(filler);
    await h.sample();
    expect(events.map((e) => e.type)).toEqual(['gateway.disk_low', 'gateway.disk_low_cleared']);
    const snap = h.snapshot();
    expect(snap).toMatchObject({ cpuTempC: 'unknown', firmware: 'unknown', disk: { low: false } });
    expect(snap).not.toHaveProperty('probeErrors');
  });
});
