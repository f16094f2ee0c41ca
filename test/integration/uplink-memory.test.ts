// The uplink keeps no per-packet-id table (issue 13, idle memory): mqtt-packet's default builds
// 65,536 two-byte Buffers (~6 MiB of heap) on the first write and keeps them for the process's
// life. With mqtt.js's writeCache off, QoS 1 publishes to a real Mosquitto still get their PUBACKs
// and the table stays empty. And the publish path makes no garbage in mqtt.js's disabled debug
// logger nor in its keepalive timer (read with V8's sampling heap profiler, collected objects
// included).
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../agent/log.js';
import { mqttjsGarbage } from '../helpers/alloc-sampling.js';
import { useCleanups } from '../helpers/cleanup.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';
import { testUplink } from '../helpers/uplink.js';

const cleanup = useCleanups();
// The same module instance mqtt.js writes with (Node's require cache).
const numbers = createRequire(createRequire(import.meta.url).resolve('mqtt'))('mqtt-packet/numbers.js') as {
  cache: Record<number, Buffer>;
};

/** A started uplink, connected to a Mosquitto of its own. */
async function connectedUplink(clientId: string) {
  const broker = await new Mosquitto().start();
  cleanup(() => broker.stop());
  const uplink = testUplink(broker.url, clientId, createLogger('fatal'));
  cleanup(() => uplink.stop());
  uplink.start();
  await waitFor(() => uplink.connected, 10_000, 'the uplink to connect');
  return uplink;
}

describe('uplink memory', () => {
  it('publishes QoS 1 without building mqtt-packet’s 65,536-Buffer packet-id table', async () => {
    const uplink = await connectedUplink('memory');
    // Packet ids 1..300: every one was written, and acknowledged.
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => uplink.publish(`wardgate/v1/memory/t/${i}`, `{"n":${i}}`, {})),
    );
    expect(Object.keys(numbers.cache)).toHaveLength(0);
  });

  it('publishes without garbage from mqtt.js’s disabled debug logger or a keepalive timer per PUBACK', async () => {
    const uplink = await connectedUplink('garbage');
    const bytes = await mqttjsGarbage(async () => {
      for (let i = 0; i < 1000; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, j) => uplink.publish(`wardgate/v1/garbage/t/${i + j}`, `{"n":${i + j}}`, {})),
        );
      }
    });
    expect(bytes.all).toBeGreaterThan(100_000); // the profiler saw the publishes
    expect(bytes).toMatchObject({ debug: 0, keepalive: 0 });
  });
});
