// A downgrade to MQTT 3.1.1 does not stick (issue 7, item 8): a broker that refused MQTT 5 once
// (aedes speaks 3.1.1 only) is replaced by a real Mosquitto on the same port, and the agent speaks
// 5 again — the `severity` user property arrives. Every connection failure on the way is logged
// once per state change, with its reason.
import { describe, expect, it } from 'vitest';
import { startEmbeddedBroker } from '../../agent/embedded-broker.js';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import { useCleanups } from '../helpers/cleanup.js';
import { testConfig } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const cleanup = useCleanups();

describe('protocol fallback', () => {
  it('tries MQTT 5 again at the next connection after a fallback to 3.1.1', async () => {
    const port = await freePort();
    const aedes = await startEmbeddedBroker(port);
    let aedesOpen = true;
    cleanup(async () => {
      if (aedesOpen) await aedes.close();
    });
    const lines: Array<{ level: number; msg: string; reason?: string; unit?: string }> = [];
    const log = createLogger('info', { write: (s: string) => lines.push(JSON.parse(s)) });
    const agent = await Agent.start({ config: testConfig({ brokers: [`mqtt://127.0.0.1:${port}`] }), log });
    cleanup(() => agent.stop());
    await waitFor(() => agent.uplink.connected, 10_000, 'connected to aedes');
    expect(agent.uplink.protocolVersion).toBe(4);

    await aedes.close();
    aedesOpen = false;
    await waitFor(() => agent.uplink.stats.connectFailures >= 3, 10_000, 'several refused attempts');
    const broker = await new Mosquitto({ port }).start();
    cleanup(() => broker.stop());
    const sub = await new Subscriber(broker.url).connect();
    cleanup(() => sub.close());
    await waitFor(() => agent.uplink.connected, 10_000, 'connected to Mosquitto');
    expect(agent.uplink.protocolVersion).toBe(5);

    const r = await agent.simulate('panic-0', 'button', true);
    const id = r.accepted[0]?.id;
    await waitFor(() => sub.events().some((e) => e.id === id), 10_000, 'the press');
    const press = sub.messages.find((m) => m.payload.includes(`"id":"${id}"`));
    expect(press?.userProperties).toMatchObject({ severity: 'critical' });

    const uplinkLines = lines.filter((l) => l.unit === 'uplink');
    const said = (msg: string) => uplinkLines.filter((l) => l.msg === msg);
    expect(said('broker refused MQTT 5: trying 3.1.1 this time')).toHaveLength(1);
    // Three or more refused attempts in a row: one warning, with the reason.
    const refused = said('broker connection failed').filter((l) => /^ECONNREFUSED/.test(l.reason ?? ''));
    expect(refused).toHaveLength(1);
    expect(refused[0]?.level).toBe(40);
    expect(agent.uplink.stats.connectFailures).toBeGreaterThanOrEqual(3);
    const versions = said('broker connected').map((l) => (l as { protocolVersion?: number }).protocolVersion);
    expect([versions[0], versions.at(-1)]).toEqual([4, 5]);
  }, 40_000);
});
