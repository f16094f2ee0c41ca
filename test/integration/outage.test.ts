// Broker outage: events accepted while the broker is down are all delivered after it comes back,
// in seq order within each lane, critical first.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import { laneOrderViolations } from '../helpers/checks.js';
import { useCleanups } from '../helpers/cleanup.js';
import { testConfig } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const cleanup = useCleanups();

describe('broker outage', () => {
  it('delivers everything accepted during the outage, critical first, in seq order per lane', async () => {
    const broker = await new Mosquitto().start();
    cleanup(() => broker.stop());
    const sub = await new Subscriber(broker.url).connect();
    cleanup(() => sub.close());
    const agent = await Agent.start({
      config: testConfig({ brokers: [broker.url], buttons: 8, severities: ['low', 'normal', 'high', 'critical'] }),
      log: createLogger('warn'),
    });
    cleanup(() => agent.stop());
    await waitFor(() => agent.uplink.connected, 10_000, 'uplink');

    // Before the outage: the subscriber sees live traffic.
    await agent.simulate('panic-3', 'button', true);
    await waitFor(() => sub.events().some((e) => e.device === 'panic-3'), 10_000, 'live event');

    await broker.stop();
    await waitFor(() => !agent.uplink.connected, 10_000, 'uplink down');
    await sub.close(); // its persistent session keeps queueing on the broker side

    const accepted: string[] = [];
    for (let round = 0; round < 25; round++) {
      for (let b = 0; b < 8; b++) {
        const r = await agent.simulate(`panic-${b}`, 'button', round % 2 === 0);
        accepted.push(...r.accepted.map((e) => e.id));
      }
    }
    expect(accepted.length).toBeGreaterThan(150);
    const depth = agent.outbox.depth;
    expect(depth).toBeGreaterThanOrEqual(accepted.length);

    await broker.start(); // same port, same persistence
    const sub2 = await new Subscriber(broker.url, 'wardgate/v1/#', sub.client?.options.clientId).connect();
    cleanup(() => sub2.close());
    await waitFor(
      () => {
        const got = new Set(sub2.events().map((e) => e.id));
        return accepted.every((id) => got.has(id));
      },
      30_000,
      'backlog delivered',
    );

    const backlog = sub2.uniqueEvents().filter((e) => accepted.includes(e.id));
    expect(laneOrderViolations(sub2.events())).toEqual([]);
    // Critical first: every critical backlog event arrived before the first non-critical one.
    const firstNonCritical = backlog.findIndex((e) => e.severity !== 'critical');
    const lastCritical = backlog.map((e) => e.severity).lastIndexOf('critical');
    expect(lastCritical).toBeLessThan(firstNonCritical);
    // And lanes drain in priority order overall.
    const laneSeq = backlog.map((e) => ['critical', 'high', 'normal', 'low'].indexOf(e.severity));
    expect(laneSeq).toEqual([...laneSeq].sort((a, b) => a - b));
    await waitFor(() => agent.outbox.depth === 0, 10_000, 'outbox empty');
  });
});
