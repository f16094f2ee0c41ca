// The central consumer (`wardgate watch`) receives and acknowledges QoS 1 events without garbage
// from mqtt.js's disabled debug logger or a keepalive timer restarted per packet (read with V8's
// sampling heap profiler, collected objects included).
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { CentralConsumer, type ConsumerRecord } from '../../agent/central/consumer.js';
import { mqttjsGarbage } from '../helpers/alloc-sampling.js';
import { useCleanups } from '../helpers/cleanup.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';

const cleanup = useCleanups();

describe('central consumer memory', () => {
  it('takes 500 QoS 1 events without garbage from mqtt.js’s debug logger or keepalive timer', async () => {
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
    // The publisher shares the process: quiet too, so what is counted is the consumer's.
    const pub = await mqtt.connectAsync(broker.url, {
      clientId: 'memory-pub',
      protocolVersion: 5,
      log: () => {},
      reschedulePings: false,
    });
    cleanup(() => pub.endAsync());
    const invalid = () => records.filter((r) => r.kind === 'invalid').length;
    // Not events the sequencer takes: each is reported as invalid, and acknowledged like any other.
    const publishAll = () =>
      Promise.all(
        Array.from({ length: 500 }, (_, i) =>
          pub.publishAsync(`wardgate/v1/memory-gw/events/panic-button/p${i}`, `{"n":${i}}`, { qos: 1 }),
        ),
      );
    const bytes = await mqttjsGarbage(async () => {
      await publishAll();
      await waitFor(() => invalid() >= 500, 10_000, '500 at the consumer');
    });
    expect(bytes.all).toBeGreaterThan(50_000); // the profiler saw the traffic
    expect(bytes).toMatchObject({ debug: 0, keepalive: 0 });
  });
});
