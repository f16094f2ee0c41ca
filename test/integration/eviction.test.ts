// Eviction: with a tiny byte cap and a mixed load while the broker is down, no critical or high
// event is evicted, and the eviction events' seq ranges exactly match what is missing.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../agent/log.js';
import { rangesContain } from '../../agent/outbox/ranges.js';
import { Agent } from '../../agent/runtime.js';
import { useCleanups } from '../helpers/cleanup.js';
import { testConfig } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const cleanup = useCleanups();

describe('outbox eviction', () => {
  it('evicts only low then normal, and announces the exact seq ranges', async () => {
    const broker = await new Mosquitto().start();
    cleanup(() => broker.stop());
    const sub = await new Subscriber(broker.url).connect();
    cleanup(() => sub.close());
    const brokerPort = broker.port;
    await broker.stop(); // the agent starts with the broker down: everything queues

    const agent = await Agent.start({
      config: testConfig({
        brokers: [`mqtt://127.0.0.1:${brokerPort}`],
        buttons: 8,
        severities: ['low', 'normal', 'low', 'high', 'low', 'critical', 'normal', 'low'],
        maxBytes: 48 * 1024, // ~100 events
      }),
      log: createLogger('error'),
    });
    cleanup(() => agent.stop());

    const sent = new Map<number, string>(); // seq -> severity, of every event the models made
    for (let round = 0; round < 60; round++) {
      for (let b = 0; b < 8; b++) {
        const r = await agent.simulate(`panic-${b}`, 'button', round % 2 === 0);
        for (const e of r.accepted) sent.set(e.seq, e.severity);
      }
    }
    expect(agent.outbox.evictedTotal).toBeGreaterThan(0);

    await broker.start();
    await waitFor(() => agent.uplink.connected && agent.outbox.depth === 0, 30_000, 'drained');
    await waitFor(() => sub.events().length >= agent.outbox.lastSeq - agent.outbox.evictedTotal, 10_000, 'received');

    const got = new Map(sub.uniqueEvents().map((e) => [e.seq, e]));
    const ranges = sub
      .uniqueEvents()
      .filter((e) => e.type === 'gateway.outbox_evicted')
      .flatMap((e) => (e.data as { ranges: Array<[number, number]> }).ranges);
    const missing = [...sent.keys()].filter((s) => !got.has(s));
    // Every missing seq is announced, and every announced seq is really missing.
    expect(missing.length).toBeGreaterThan(0);
    expect(missing.filter((s) => !rangesContain(ranges, s))).toEqual([]);
    const announced = ranges.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));
    expect(announced.filter((s) => got.has(s))).toEqual([]);
    expect(announced.length).toBe(agent.outbox.evictedTotal);
    // Never critical or high.
    expect(missing.map((s) => sent.get(s)).filter((sev) => sev === 'critical' || sev === 'high')).toEqual([]);
    // Every critical/high event arrived.
    for (const [seq, sev] of sent) if (sev === 'critical' || sev === 'high') expect(got.has(seq)).toBe(true);
    // Low goes before normal: no normal was evicted while an older low survived.
    const evictedNormal = missing.filter((s) => sent.get(s) === 'normal');
    if (evictedNormal.length > 0) {
      const survivingLow = [...got.values()].filter((e) => e.severity === 'low' && e.seq < Math.max(...evictedNormal));
      expect(survivingLow).toEqual([]);
    }
  }, 60_000);
});
