// The central consumer says "connected" only once the broker acknowledged its subscriptions: said at
// the CONNACK, a press published right after it could reach the broker before the SUBSCRIBE and be
// missed by a fresh session (the watch-ack test's press raced it on a loaded machine). A proxy in
// front of a real Mosquitto holds the SUBACK back; the record must not come before it.
import { describe, expect, it } from 'vitest';
import { CentralConsumer, type ConsumerRecord } from '../../agent/central/consumer.js';
import { useCleanups } from '../helpers/cleanup.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';
import { CuttableProxy, type ToClient } from '../helpers/proxy.js';

const cleanup = useCleanups();
const SUBACK = 0x90;

/** Passes the broker's packets on, but holds every SUBACK back for `holdMs`. */
function holdSubacks(holdMs: number, counter: { subacksForwarded: number }): ToClient {
  return (client) => {
    let buf = Buffer.alloc(0);
    return (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        let len = 0;
        let mult = 1;
        let i = 1;
        for (; i < buf.length && i <= 4; i++) {
          const b = buf[i] as number;
          len += (b & 0x7f) * mult;
          mult *= 128;
          if ((b & 0x80) === 0) break;
        }
        if (i >= buf.length || buf.length < i + 1 + len) return;
        const pkt = buf.subarray(0, i + 1 + len);
        buf = buf.subarray(i + 1 + len);
        if (((pkt[0] as number) & 0xf0) === SUBACK) {
          setTimeout(() => {
            counter.subacksForwarded++;
            client.write(pkt);
          }, holdMs);
        } else client.write(pkt);
      }
    };
  };
}

describe('the central consumer', () => {
  it('says connected only after the SUBACK, so nothing published after that record is missed', async () => {
    const broker = await new Mosquitto().start();
    cleanup(() => broker.stop());
    const held = { subacksForwarded: 0 };
    const proxy = await new CuttableProxy(broker.port, '127.0.0.1', holdSubacks(300, held)).start();
    cleanup(() => proxy.stop());
    const records: Array<ConsumerRecord & { subacksBefore?: number }> = [];
    const consumer = new CentralConsumer({
      broker: `mqtt://127.0.0.1:${proxy.port}`,
      clientId: 'ready-test',
      onRecord: (r) => records.push({ ...r, subacksBefore: held.subacksForwarded }),
    });
    cleanup(() => consumer.stop());
    await consumer.start(); // resolves at the CONNACK
    await waitFor(() => records.some((r) => r.kind === 'consumer'), 10_000, 'a consumer record');
    const first = records.find((r) => r.kind === 'consumer');
    expect(first).toMatchObject({ kind: 'consumer', state: 'connected' });
    expect(first?.subacksBefore).toBe(1);
  });
});
