// A hostile or broken broker cannot make the agent hold memory (issue 7, item 9: unsolicited
// QoS 2 messages took RSS from 80 to 404 MiB). A raw MQTT server on a real socket pushes what
// the agent never subscribed to; the assertions are on what the agent answered and kept.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import { MAX_INBOUND_PACKET, MAX_INBOUND_QOS2 } from '../../agent/uplink/inbound-guard.js';
import { useCleanups } from '../helpers/cleanup.js';
import { testConfig } from '../helpers/config.js';
import { waitFor } from '../helpers/ports.js';
import { RawBroker, type RawConnection, varint } from '../helpers/raw-broker.js';

const cleanup = useCleanups();
const PUSHED = 5000;

async function agentOn(broker: RawBroker, protocol: '5' | '3.1.1'): Promise<Agent> {
  const agent = await Agent.start({
    config: testConfig({ brokers: [broker.url], protocol }),
    log: createLogger('error'),
  });
  cleanup(() => agent.stop());
  await waitFor(() => agent.uplink.connected, 10_000, 'connected');
  return agent;
}

function flood(c: RawConnection): void {
  for (let id = 1; id <= PUSHED; id++) c.push(`evil/${id}`, Buffer.alloc(1000, 7), id % 2 ? 2 : 1, id);
}

describe('inbound from the broker is bounded', () => {
  it('MQTT 5: announces maximumPacketSize and receiveMaximum, refuses unsolicited QoS 1/2 with 0x87, keeps nothing', async () => {
    const broker = await new RawBroker().start();
    cleanup(() => broker.stop());
    const agent = await agentOn(broker, '5');
    const c = broker.connections.at(-1) as RawConnection;
    expect(c.connect?.properties.get(0x27)).toBe(MAX_INBOUND_PACKET);
    expect(c.connect?.properties.get(0x21)).toBe(MAX_INBOUND_QOS2);
    flood(c);
    await waitFor(() => c.acks.size === PUSHED, 20_000, 'every push answered');
    expect(new Set(c.acks.values())).toEqual(new Set([0x87]));
    expect(agent.uplink.stats.inbound).toEqual({ unsolicited: PUSHED, droppedQos2: 0, oversize: 0 });
    expect(agent.uplink.connected).toBe(true);
    expect(broker.connections.length).toBe(1);
  });

  it('3.1.1 (no way to refuse): QoS 2 messages are held in a store of at most 16', async () => {
    const broker = await new RawBroker().start();
    cleanup(() => broker.stop());
    const agent = await agentOn(broker, '3.1.1');
    const c = broker.connections.at(-1) as RawConnection;
    flood(c);
    await waitFor(() => c.acks.size === PUSHED, 20_000, 'every push answered');
    // Half were QoS 2 (odd ids), each stored until a PUBREL that never comes: all but 16 forgotten.
    expect(agent.uplink.stats.inbound.droppedQos2).toBe(PUSHED / 2 - MAX_INBOUND_QOS2);
    expect(agent.uplink.stats.inbound.unsolicited).toBe(PUSHED / 2); // the QoS 1 ones: counted, not kept
    expect(agent.uplink.connected).toBe(true);
  });

  for (const protocol of ['5', '3.1.1'] as const) {
    it(`${protocol}: a packet announced over the limit drops the connection at its header`, async () => {
      const broker = await new RawBroker().start();
      cleanup(() => broker.stop());
      const agent = await agentOn(broker, protocol);
      const c = broker.connections.at(-1) as RawConnection;
      // A PUBLISH announcing 10 MiB, and only its first 64 KiB: the agent must not wait for the rest.
      c.write(Buffer.from([0x30, ...varint(10 * 1024 * 1024)]));
      c.write(Buffer.alloc(64 * 1024, 1));
      await waitFor(() => c.closed, 10_000, 'the agent closed the connection');
      expect(agent.uplink.stats.inbound.oversize).toBe(1);
      expect(agent.uplink.stats.lastError).toMatch(/packet too large/);
      expect(agent.uplink.stats.hint).toMatch(/larger than the agent accepts/);
      await waitFor(() => broker.connections.length >= 2, 10_000, 'reconnected');
    });
  }
});
