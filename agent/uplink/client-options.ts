// The mqtt.js options of one connection attempt: our loop reconnects (reconnectPeriod 0), the
// will marks the gateway offline, and what the broker may send is bounded (inbound-guard.ts).
import type { IClientOptions, IClientPublishOptions } from 'mqtt';
import {
  BoundedIncomingStore,
  type InboundStats,
  MAX_INBOUND_PACKET,
  MAX_INBOUND_QOS2,
  NOT_AUTHORIZED,
} from './inbound-guard.js';

const MQTTJS_DEBUG = /mqttjs/;
const noLog = (): void => {};

/**
 * mqtt.js settings that keep garbage per message down (the uplink, the central consumer):
 *  - mqtt.js logs through `debug`, whose logger collects its arguments into an array even when
 *    disabled: ~20 calls per publish and PUBACK, 2.9 KB per QoS 1 publish and 6% of what an alarm
 *    allocated on its way through the box. DEBUG=mqttjs* still turns them on;
 *  - by default every PUBACK restarts the keepalive timer (a new interval and closure per message).
 *    Without that, PINGREQ goes out every keepaliveSec whatever the traffic, and a silent path is
 *    still reported within 1.5 × keepaliveSec of the last PINGRESP (path-monitor.ts).
 */
export function quietClient(): Pick<IClientOptions, 'log' | 'reschedulePings'> {
  return {
    ...(MQTTJS_DEBUG.test(process.env.DEBUG ?? '') ? {} : { log: noLog }),
    reschedulePings: false,
  };
}

export interface ConnectionSettings {
  clientId: string;
  username?: string;
  password?: string;
  keepaliveSec: number;
  connectTimeoutMs: number;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean; servername?: string };
  will: { topic: string; payload: string };
}

export function clientOptions(
  s: ConnectionSettings,
  protocolVersion: 4 | 5,
  accepts: (topic: string) => boolean,
  inbound: InboundStats,
): IClientOptions {
  return {
    clientId: s.clientId,
    protocolVersion,
    clean: true,
    keepalive: s.keepaliveSec,
    connectTimeout: s.connectTimeoutMs,
    reconnectPeriod: 0, // our loop decides: failover order, backoff with jitter
    // mqtt-packet's default pre-builds 65,536 two-byte Buffers (every packet id) on the first
    // write and keeps them: ~6 MiB of heap, for writes that cost the same built on the spot. The
    // switch is global to mqtt-packet: every client in the process then builds packet ids on the spot.
    writeCache: false,
    ...quietClient(),
    queueQoSZero: false,
    resubscribe: false,
    will: { topic: s.will.topic, payload: Buffer.from(s.will.payload), qos: 1, retain: true },
    ...(protocolVersion === 5
      ? { properties: { maximumPacketSize: MAX_INBOUND_PACKET, receiveMaximum: MAX_INBOUND_QOS2 } }
      : {}),
    // MQTT 5 only (mqtt.js): refuse what nobody subscribed to, so nothing is stored for it.
    customHandleAcks: (topic, _message, _packet, done) => {
      if (accepts(topic)) return done(0);
      inbound.unsolicited++;
      done(NOT_AUTHORIZED);
    },
    incomingStore: new BoundedIncomingStore(MAX_INBOUND_QOS2, () => inbound.droppedQos2++),
    ...(s.username !== undefined ? { username: s.username } : {}),
    ...(s.password !== undefined ? { password: s.password } : {}),
    ...(s.tls ?? {}),
  };
}

export interface PublishOptions {
  retain?: boolean;
  /** MQTT 5 only: message expiry and user properties (severity, type). */
  expirySec?: number;
  userProperties?: Record<string, string>;
}

const made = [
  new WeakMap<PublishOptions, IClientPublishOptions>(),
  new WeakMap<PublishOptions, IClientPublishOptions>(),
];

/**
 * QoS 1 always; the MQTT 5 properties only where MQTT 5 is spoken. Made once per options object
 * and protocol (the drain passes one frozen object per lane): no objects per message.
 */
export function publishOptions(protocolVersion: 4 | 5, opts: PublishOptions): IClientPublishOptions {
  const cache = made[protocolVersion === 5 ? 1 : 0] as WeakMap<PublishOptions, IClientPublishOptions>;
  const hit = cache.get(opts);
  if (hit) return hit;
  const pubOpts: IClientPublishOptions = { qos: 1, retain: opts.retain ?? false };
  if (protocolVersion === 5 && (opts.expirySec || opts.userProperties)) {
    pubOpts.properties = {
      ...(opts.expirySec ? { messageExpiryInterval: opts.expirySec } : {}),
      ...(opts.userProperties ? { userProperties: opts.userProperties } : {}),
    };
  }
  if (Object.isFrozen(opts)) cache.set(opts, pubOpts); // a caller's mutable object may change
  return pubOpts;
}
