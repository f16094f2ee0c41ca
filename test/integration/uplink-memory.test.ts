// The uplink keeps no per-packet-id table (issue 13, idle memory): mqtt-packet's default builds
// 65,536 two-byte Buffers (~6 MiB of heap) on the first write and keeps them for the process's
// life. With mqtt.js's writeCache off, QoS 1 publishes to a real Mosquitto still get their PUBACKs
// and the table stays empty.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../agent/log.js';
import { useCleanups } from '../helpers/cleanup.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';
import { testUplink } from '../helpers/uplink.js';

const cleanup = useCleanups();
// The same module instance mqtt.js writes with (Node's require cache).
const numbers = createRequire(createRequire(import.meta.url).resolve('mqtt'))('mqtt-packet/numbers.js') as {
  cache: Record<number, Buffer>;
};

describe('uplink memory', () => {
  it('publishes QoS 1 without building mqtt-packet’s 65,536-Buffer packet-id table', async () => {
    const broker = await new Mosquitto().start();
    cleanup(() => broker.stop());
    const uplink = testUplink(broker.url, 'memory', createLogger('fatal'));
    cleanup(() => uplink.stop());
    uplink.start();
    await waitFor(() => uplink.connected, 10_000, 'the uplink to connect');
    // Packet ids 1..300: every one was written, and acknowledged.
    await Promise.all(
      Array.from({ length: 300 }, (_, i) => uplink.publish(`wardgate/v1/memory/t/${i}`, `{"n":${i}}`, {})),
    );
    expect(Object.keys(numbers.cache)).toHaveLength(0);
  });
});
