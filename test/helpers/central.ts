// The central side of issue 10 for tests: a real Mosquitto with a TLS listener that requires client
// certificates, takes the certificate CN as the user name and applies the shipped ACL
// (config/mosquitto-wardgate.acl), with certificates from scripts/provision-certs.sh. A plain
// listener (anonymous, no ACL) is the test's own eyes. The control room connects with mTLS.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import mqtt, { type MqttClient } from 'mqtt';
import { parse } from 'yaml';
import type { Envelope } from '../../agent/commands/envelope.js';
import type { CommandResult } from '../../agent/commands/router.js';
import { shippedFile } from '../../agent/paths.js';
import { Mosquitto } from './mosquitto.js';
import { freePort } from './ports.js';
import type { Subscriber } from './subscriber.js';

export interface CentralPki {
  dir: string;
  ca: string;
  cert: (name: string) => { cert: string; key: string };
}

/** CA, broker, gateways and control-room certificates, made by the shipped script. */
export function provisionPki(dir: string, gateways: string[], clients: string[]): CentralPki {
  const args = [dir, '--broker', 'localhost,127.0.0.1', '--days', '2'];
  for (const g of gateways) args.push('--gateway', g);
  for (const c of clients) args.push('--client', c);
  execFileSync(shippedFile('scripts', 'provision-certs.sh'), args, { stdio: 'pipe' });
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    cert: (name) => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) }),
  };
}

export async function centralBroker(
  pki: CentralPki,
  port?: number,
  extra: string[] = [],
): Promise<{ broker: Mosquitto; tlsUrl: string }> {
  const tlsPort = await freePort();
  const broker = await new Mosquitto({
    ...(port !== undefined ? { port } : {}),
    prelude: ['per_listener_settings true'],
    extra: [
      `listener ${tlsPort} 127.0.0.1`,
      `cafile ${pki.ca}`,
      `certfile ${join(pki.dir, 'broker.crt')}`,
      `keyfile ${join(pki.dir, 'broker.key')}`,
      'require_certificate true',
      'use_identity_as_username true',
      `acl_file ${shippedFile('config', 'mosquitto-wardgate.acl')}`,
      // As config/mosquitto-central.conf: with 0 (the helper's default), Mosquitto 2.0 closes the
      // connection after every denied QoS 1 publish instead of answering 0x87 only.
      'max_queued_messages 100000',
      'set_tcp_nodelay true',
      ...extra,
    ],
  }).start();
  return { broker, tlsUrl: `mqtts://127.0.0.1:${tlsPort}` };
}

/** The control room: mTLS as `control-room`, subscribed to every cmd-result. */
export class ControlRoom {
  client: MqttClient | undefined;
  readonly results: CommandResult[] = [];

  constructor(
    private readonly url: string,
    private readonly pki: CentralPki,
    private readonly name = 'control-room',
  ) {}

  async connect(): Promise<this> {
    const { cert, key } = this.pki.cert(`client-${this.name}`);
    const client = await mqtt.connectAsync(this.url, {
      protocolVersion: 5,
      clientId: `${this.name}-${Math.random().toString(16).slice(2)}`,
      ca: readFileSync(this.pki.ca),
      cert: readFileSync(cert),
      key: readFileSync(key),
      reconnectPeriod: 100,
    });
    this.client = client;
    client.on('message', (topic, payload) => {
      if (topic.includes('/cmd-result/')) this.results.push(JSON.parse(payload.toString()) as CommandResult);
    });
    await client.subscribeAsync('wardgate/v1/+/cmd-result/#', { qos: 1 });
    return this;
  }

  /** Publish an envelope (or raw text) to `cmd/{device}`; resolves on PUBACK. Every envelope is checked against the contract. */
  async send(gateway: string, device: string, env: Envelope | string): Promise<void> {
    if (typeof env !== 'string') assertContract('cmd', env);
    await this.client?.publishAsync(
      `wardgate/v1/${gateway}/cmd/${device}`,
      typeof env === 'string' ? env : JSON.stringify(env),
      {
        qos: 1,
      },
    );
  }

  resultOf(commandId: string): CommandResult | undefined {
    return this.results.find((r) => r.commandId === commandId);
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true);
  }
}

const asyncapi = parse(readFileSync(shippedFile('docs', 'asyncapi.yaml'), 'utf8'));
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats.default(ajv);
const validators = Object.fromEntries(
  Object.entries(asyncapi.components.schemas as Record<string, object>).map(([k, s]) => [k, ajv.compile(s)]),
);

export function assertContract(schema: string, payload: unknown): void {
  const v = validators[schema];
  if (!v) throw new Error(`no schema ${schema} in docs/asyncapi.yaml`);
  if (!v(payload)) throw new Error(`${schema}: ${ajv.errorsText(v.errors)}: ${JSON.stringify(payload).slice(0, 400)}`);
}

/**
 * Every message the gateway published that a subscriber received, against the schema of its topic
 * kind; the problems. `cmd/` is what the tests sent (checked in ControlRoom.send, except the
 * deliberately malformed ones).
 */
export function contractErrors(sub: Subscriber): string[] {
  const errors: string[] = [];
  for (const m of sub.messages) {
    const part = m.topic.split('/')[3] as string;
    if (part === 'cmd') continue;
    const kind = part === 'events' ? 'event' : part;
    try {
      assertContract(kind, JSON.parse(m.payload));
    } catch (err) {
      errors.push(`${m.topic}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return errors;
}
