// A central-office subscriber: a persistent MQTT session (clean=false) that records every message
// it receives, in arrival order, so tests assert on what a subscriber actually got.
import mqtt, { type MqttClient } from 'mqtt';
import type { WgEvent } from '../../agent/event.js';

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

export class Subscriber {
  readonly messages: Received[] = [];
  client: MqttClient | undefined;

  constructor(
    private readonly url: string,
    private readonly topic = 'wardgate/v1/#',
    private readonly clientId = `central-${Math.random().toString(16).slice(2)}`,
  ) {}

  async connect(): Promise<this> {
    const client = mqtt.connect(this.url, {
      clientId: this.clientId,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 3600 },
      reconnectPeriod: 100,
    });
    this.client = client;
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: payload.toString(), retain: packet.retain });
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(this.topic, { qos: 1 });
    return this;
  }

  /** Every event received (with duplicates), in arrival order. */
  events(): WgEvent[] {
    return this.messages.filter((m) => m.topic.includes('/events/')).map((m) => JSON.parse(m.payload) as WgEvent);
  }

  /** Events deduplicated by id, in first-arrival order. */
  uniqueEvents(): WgEvent[] {
    const seen = new Set<string>();
    return this.events().filter((e) => (seen.has(e.id) ? false : (seen.add(e.id), true)));
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true);
  }
}
