// Flapping network: a TCP proxy between the agent and Mosquitto cuts every connection at random
// intervals while events are injected. Nothing accepted is lost; lane order holds after dedup.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import { duplicatesById, laneOrderViolations } from '../helpers/checks.js';
import { useCleanups } from '../helpers/cleanup.js';
import { testConfig } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';
import { CuttableProxy } from '../helpers/proxy.js';
import { Subscriber } from '../helpers/subscriber.js';

const cleanup = useCleanups();

describe('flapping network', () => {
  it('loses nothing when the broker connection is cut at random moments', async () => {
    const broker = await new Mosquitto().start();
    cleanup(() => broker.stop());
    const proxy = await new CuttableProxy(broker.port).start();
    cleanup(() => proxy.stop());
    const sub = await new Subscriber(broker.url).connect();
    cleanup(() => sub.close());
    const config = testConfig({
      brokers: [`mqtt://127.0.0.1:${proxy.port}`],
      buttons: 8,
      severities: ['critical', 'high', 'normal', 'low'],
      inflight: 32,
    });
    // The backoff keeps growing across connections that never stay up (issue 7: it no longer
    // resets on CONNACK); a short one lets this test make its 30 cuts in a few seconds.
    // Quick drops look like a session takeover (retried at takeoverMs, 30 s by default): this test
    // is about loss under cuts, so that delay is short here too.
    config.mqtt.backoff = { minMs: 10, maxMs: 100, takeoverMs: 100 };
    const agent = await Agent.start({ config, log: createLogger('error') });
    cleanup(() => agent.stop());
    await waitFor(() => agent.uplink.connected, 10_000, 'uplink');

    const accepted: string[] = [];
    let stop = false;
    const state = new Array<boolean>(8).fill(false);
    const inject = (async () => {
      let i = 0;
      while (!stop) {
        const b = i++ % 8;
        state[b] = !state[b];
        const r = await agent.simulate(`panic-${b}`, 'button', state[b] as boolean);
        accepted.push(...r.accepted.map((e) => e.id));
        if (i % 8 === 0) await new Promise((r) => setTimeout(r, 1));
      }
    })();
    let cuts = 0;
    for (let k = 0; k < 30; k++) {
      // Cut a connection that came back, at a random moment of its life: on a loaded machine the
      // reconnect may take longer than the interval, and a cut with nothing to cut proves nothing.
      await waitFor(() => agent.uplink.connected, 30_000, `reconnect before cut ${k}`);
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 150));
      if (proxy.cut() > 0) cuts++;
    }
    stop = true;
    await inject;

    await waitFor(
      () => {
        const got = new Set(sub.events().map((e) => e.id));
        return accepted.every((id) => got.has(id));
      },
      30_000,
      'all accepted events delivered',
    );
    const events = sub.events();
    console.log(
      `flap test: ${cuts} cuts, ${accepted.length} accepted, ${events.length} received, ${duplicatesById(events)} duplicates, 0 lost; ` +
        `uplink reconnects ${agent.uplink.stats.connects}`,
    );
    expect(cuts).toBeGreaterThanOrEqual(10);
    expect(agent.uplink.stats.connects).toBeGreaterThan(cuts / 2);
    expect(laneOrderViolations(events)).toEqual([]);
  }, 120_000);
});
