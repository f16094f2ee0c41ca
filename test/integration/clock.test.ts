// Time on a box without an RTC: events accepted before the clock syncs carry clock.synced=false;
// once it syncs, those still queued are re-stamped from bootId + uptime when published.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../agent/config/load.js';
import type { Config } from '../../agent/config/types.js';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import { useCleanups } from '../helpers/cleanup.js';
import { tempDir, testConfigDoc } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const cleanup = useCleanups();

describe('clock sync', () => {
  it('flags events made before sync and re-stamps them from uptime once synced', async () => {
    const broker = await new Mosquitto().start();
    cleanup(() => broker.stop());
    const sub = await new Subscriber(broker.url).connect();
    cleanup(() => sub.close());
    const port = broker.port;
    await broker.stop(); // queue while unsynced and offline

    const dir = tempDir();
    const flag = join(dir, 'synced');
    const doc = testConfigDoc({ brokers: [`mqtt://127.0.0.1:${port}`] }) as { gateway: Record<string, unknown> };
    doc.gateway.clock = { sync: 'file', file: flag };
    const r = checkConfig(doc);
    if (!r.ok) throw new Error(r.problems.join('; '));
    const agent = await Agent.start({ config: r.config as Config, log: createLogger('error') });
    cleanup(() => agent.stop());

    const before = await agent.simulate('panic-0', 'button', true);
    expect(before.accepted[0]?.clock.synced).toBe(false);

    writeFileSync(flag, '');
    agent.checkClock();
    await broker.start();
    await waitFor(() => sub.events().some((e) => e.id === before.accepted[0]?.id), 10_000, 'queued event');
    const published = sub.events().find((e) => e.id === before.accepted[0]?.id);
    expect(published?.clock).toMatchObject({ synced: false, restamped: true, originalTs: before.accepted[0]?.ts });
    // Re-stamped from uptime with the (same) clock: within a second of the original here.
    expect(Math.abs(Date.parse(published?.ts ?? '') - Date.parse(before.accepted[0]?.ts ?? ''))).toBeLessThan(1000);
    await waitFor(() => sub.events().some((e) => e.type === 'gateway.clock_synced'), 10_000, 'clock_synced event');
    const after = await agent.simulate('panic-0', 'button', false);
    expect(after.accepted[0]?.clock.synced).toBe(true);
  });
});
