// A central-office subscriber: a persistent MQTT session (clean=false) that records every message
// it receives, in arrival order, so tests assert on what a subscriber actually got.
import mqtt, { type MqttClient } from 'mqtt';
import type { WgEvent } from '../../agent/event.js';

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  userProperties?: Record<string, string | string[]>;
  expiry?: number;
}

export class Subscriber {
  readonly messages: Received[] = [];
  client: MqttClient | undefined;

  constructor(
    private readonly url: string,
    private readonly topic = 'wardgate/v1/#',
    private readonly clientId = `central-${Math.random().toString(16).slice(2)}`,
  ) {}

  /** For brokers that speak only 3.1.1 (aedes). */
  connectV311(): Promise<this> {
    return this.connect(4);
  }

  async connect(protocolVersion: 4 | 5 = 5): Promise<this> {
    const client = mqtt.connect(this.url, {
      clientId: this.clientId,
      clean: false,
      protocolVersion,
      ...(protocolVersion === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
      reconnectPeriod: 100,
    });
    this.client = client;
    client.on('message', (topic, payload, packet) => {
      this.messages.push({
        topic,
        payload: payload.toString(),
        retain: packet.retain,
        ...(packet.properties?.userProperties ? { userProperties: packet.properties.userProperties } : {}),
        ...(packet.properties?.messageExpiryInterval !== undefined
          ? { expiry: packet.properties.messageExpiryInterval }
          : {}),
      });
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
    return this.events().filter((e) => {
      if (seen.has(e.id)) return false;
      seen.add(e.id);
      return true;
    });
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true);
  }
}
