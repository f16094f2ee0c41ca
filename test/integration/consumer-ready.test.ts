// The central consumer says "connected" only once the broker acknowledged its subscriptions: said at
// the CONNACK, a press published right after it could reach the broker before the SUBSCRIBE and be
// missed by a fresh session (the watch-ack test's press raced it on a loaded machine). A proxy in
// front of a real Mosquitto holds the SUBACK back; the record must not come before it.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CentralConsumer, type ConsumerRecord } from '../../agent/central/consumer.js';
import { useCleanups } from '../helpers/cleanup.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';

const cleanup = useCleanups();
const SUBACK = 0x90;

/** Forwards both ways, but holds every SUBACK from the broker for `holdMs`. */
class SubackHoldingProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  subacksForwarded = 0;

  constructor(
    private readonly brokerPort: number,
    private readonly holdMs: number,
  ) {}

  async start(): Promise<this> {
    const server = createServer((client) => {
      const broker = connect(this.brokerPort, '127.0.0.1');
      for (const s of [client, broker]) this.sockets.add(s);
      client.pipe(broker);
      let buf = Buffer.alloc(0);
      broker.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          // Fixed header: type byte, then the remaining length as a varint.
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
              this.subacksForwarded++;
              client.write(pkt);
            }, this.holdMs);
          } else client.write(pkt);
        }
      });
      const close = () => {
        client.destroy();
        broker.destroy();
      };
      client.on('error', close);
      broker.on('error', close);
      client.on('close', close);
      broker.on('close', close);
    });
    this.server = server;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    this.port = (server.address() as { port: number }).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

describe('the central consumer', () => {
  it('says connected only after the SUBACK, so nothing published after that record is missed', async () => {
    const broker = await new Mosquitto().start();
    cleanup(() => broker.stop());
    const proxy = await new SubackHoldingProxy(Number(new URL(broker.url).port), 300).start();
    cleanup(() => proxy.stop());
    const records: Array<ConsumerRecord & { subacksBefore?: number }> = [];
    const consumer = new CentralConsumer({
      broker: `mqtt://127.0.0.1:${proxy.port}`,
      clientId: 'ready-test',
      onRecord: (r) => records.push({ ...r, subacksBefore: proxy.subacksForwarded }),
    });
    cleanup(() => consumer.stop());
    await consumer.start(); // resolves at the CONNACK
    await waitFor(() => records.some((r) => r.kind === 'consumer'), 10_000, 'a consumer record');
    const first = records.find((r) => r.kind === 'consumer');
    expect(first).toMatchObject({ kind: 'consumer', state: 'connected' });
    expect(first?.subacksBefore).toBe(1);
  });
});
