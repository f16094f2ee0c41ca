// One connection attempt to one broker, and how it ended: the facts the connect loop (mqtt.ts)
// needs to choose what next — CONNACK or not, why it closed, whether the broker said the session
// was taken over, whether it looked like a refusal of MQTT 5.
import type { Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { type ConnectionSettings, clientOptions } from './client-options.js';
import { failureReason, reasonName } from './connect-policy.js';
import { type InboundStats, MAX_INBOUND_PACKET, watchFrameSizes } from './inbound-guard.js';

export interface AttemptEnd {
  /** The attempt had its CONNACK (an established connection dropped). */
  connected: boolean;
  reason: string;
  /** MQTT 5 DISCONNECT 0x8E: another client connected with our client id. */
  takenOver: boolean;
  /** The broker closed the connection with a DISCONNECT giving another reason (0x8B shutting down…). */
  explained: boolean;
  /** No CONNACK, in a way that means "not MQTT 5" (0x84, return code 1, or a silent close). */
  refusedV5: boolean;
}

export interface AttemptHooks {
  connack(): void;
  end(e: AttemptEnd): void;
  /** Runs a handler behind the uplink's error boundary, and only while this attempt is current. */
  live(what: string, fn: () => void): void;
  /** A publish on a topic the agent subscribed to (`accepts`): the signed commands. */
  message?(topic: string, payload: Buffer): void;
}

/** CONNACK codes meaning "I do not speak this protocol version" (3.1.1: 1, MQTT 5: 0x84). */
const PROTOCOL_REFUSED = new Set([1, 0x84]);
const SESSION_TAKEN_OVER = 0x8e;
/** Socket errors a 3.1.1-only broker (aedes) may cause by dropping an MQTT 5 CONNECT. */
const DROP_LIKE = new Set(['ECONNRESET', 'EPIPE']);

export function openConnection(
  url: string,
  protocolVersion: 4 | 5,
  settings: ConnectionSettings,
  accepts: (topic: string) => boolean,
  inbound: InboundStats,
  hooks: AttemptHooks,
): MqttClient {
  let connected = false;
  let socketOpened = false;
  let refusedV5 = false;
  // TLS failures, a CONNACK timeout, an oversize packet: failures, not a refusal of MQTT 5.
  let notARefusal = false;
  let takenOver = false;
  let explained = false;
  let reason: string | undefined;
  const client = mqtt.connect(url, clientOptions(settings, protocolVersion, accepts, inbound));
  const stream = client.stream as Socket | undefined;
  stream?.once?.('connect', () => {
    socketOpened = true;
    stream.setNoDelay?.(true); // alarms are small packets: never wait for Nagle
  });
  if (stream) {
    watchFrameSizes(stream, MAX_INBOUND_PACKET, (bytes) => {
      inbound.oversize++;
      notARefusal = true;
      reason = `broker sent a packet of ${bytes} bytes, over the limit of ${MAX_INBOUND_PACKET} (0x95 packet too large)`;
      stream.destroy();
    });
  }
  client.on('connect', () =>
    hooks.live('connect', () => {
      connected = true;
      hooks.connack();
    }),
  );
  client.on('disconnect', (packet) =>
    hooks.live('disconnect', () => {
      const rc = packet.reasonCode ?? 0;
      if (rc === SESSION_TAKEN_OVER) takenOver = true;
      else explained = true;
      reason = `broker sent DISCONNECT ${reasonName(rc)}`;
    }),
  );
  client.on('message', (topic, payload) =>
    hooks.live('message', () => {
      // 3.1.1 cannot refuse what nobody subscribed to: counted, never kept.
      if (accepts(topic)) hooks.message?.(topic, payload);
      else inbound.unsolicited++;
    }),
  );
  client.on('error', (err) =>
    hooks.live('error', () => {
      reason ??= failureReason(err);
      const code = (err as { code?: unknown }).code;
      if ((typeof code === 'string' && !DROP_LIKE.has(code)) || err.message === 'connack timeout') notARefusal = true;
      if (!connected && typeof code === 'number' && PROTOCOL_REFUSED.has(code)) refusedV5 = true;
    }),
  );
  client.on('close', () =>
    hooks.live('close', () => {
      // aedes and other 3.1.1-only brokers may just drop an MQTT 5 CONNECT without a CONNACK.
      const silent = socketOpened && !notARefusal;
      hooks.end({
        connected,
        reason: reason ?? (connected ? 'connection closed by the broker or the network' : 'closed without CONNACK'),
        takenOver,
        explained,
        refusedV5: !connected && protocolVersion === 5 && (refusedV5 || silent),
      });
    }),
  );
  return client;
}
