// The central consumer (`wardgate watch`) acknowledges QoS 1 events without mqtt-packet's
// 65,536-Buffer packet-id table (~6 MiB kept for the process's life). The setting is global to
// mqtt-packet once any client turns it off, so this file has only the consumer's client (and a
// publisher with the default) in its process.
import { createRequire } from 'node:module';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { CentralConsumer, type ConsumerRecord } from '../../agent/central/consumer.js';
import { useCleanups } from '../helpers/cleanup.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';

const cleanup = useCleanups();
const numbers = createRequire(createRequire(import.meta.url).resolve('mqtt'))('mqtt-packet/numbers.js') as {
  cache: Record<number, Buffer>;
};

describe('central consumer memory', () => {
  it('the central consumer acknowledges 300 QoS 1 events without building the table', async () => {
    const broker = await new Mosquitto().start();
    cleanup(() => broker.stop());
    const records: ConsumerRecord[] = [];
    const consumer = new CentralConsumer({
      broker: broker.url,
      clientId: 'memory-central',
      onRecord: (r) => records.push(r),
    });
    cleanup(() => consumer.stop());
    await consumer.start();
    await waitFor(() => records.some((r) => r.kind === 'consumer' && r.state === 'connected'), 10_000, 'subscribed');
    // The publisher keeps mqtt.js's default: the consumer's client, made first, decides for both.
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'memory-pub', protocolVersion: 5 });
    cleanup(() => pub.endAsync());
    // Not events the sequencer takes: each is reported as invalid, and acknowledged like any other.
    for (let i = 0; i < 300; i++)
      await pub.publishAsync(`wardgate/v1/memory-gw/events/panic-button/p${i}`, `{"n":${i}}`, { qos: 1 });
    await waitFor(
      () => records.filter((r) => r.kind === 'invalid').length >= 300,
      10_000,
      '300 events at the consumer',
    );
    expect(Object.keys(numbers.cache)).toHaveLength(0);
  });
});
