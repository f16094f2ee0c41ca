// A gateway for the command tests: sim GPIO whose output writes are recorded (the hardware
// boundary), mTLS to the central broker with its own certificate, and command keys.

import { checkConfig } from '../../agent/config/load.js';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import { type LineRef, lineKey, type OutputHandle } from '../../drivers/gpio/backend.js';
import { SimGpioBackend } from '../../drivers/gpio/sim.js';
import type { CentralPki } from './central.js';
import type { TestKey } from './commands.js';
import { testConfigDoc } from './config.js';

/** Sim GPIO that remembers every level written to an output line, in order. */
export class RecordingGpio extends SimGpioBackend {
  readonly writes: Array<{ line: string; level: 0 | 1 }> = [];

  override async openOutput(ref: LineRef, initial: 0 | 1): Promise<OutputHandle> {
    const h = await super.openOutput(ref, initial);
    const write = h.write.bind(h);
    (h as { write: OutputHandle['write'] }).write = async (level) => {
      this.writes.push({ line: lineKey(ref), level });
      return write(level);
    };
    return h;
  }

  writesTo(line: number): Array<0 | 1> {
    const key = lineKey({ chip: 'gpiochip0', line });
    return this.writes.filter((w) => w.line === key).map((w) => w.level);
  }
}

export const LINES = { sounder: 40, led: 41, strobe: 42, commsFault: 43 };

export interface GatewayKeys {
  ops: TestKey;
  limited: TestKey;
}

export function gatewayDoc(o: {
  brokers: string[];
  pki: CentralPki;
  dataDir: string;
  keys: GatewayKeys;
  cert?: string;
  gatewayId?: string;
  keepaliveSec?: number;
  escalationSec?: number;
}): Record<string, unknown> {
  const doc = testConfigDoc({
    brokers: o.brokers,
    buttons: 1,
    dataDir: o.dataDir,
    gatewayId: o.gatewayId ?? 'test-gw',
  });
  const mqtt = doc.mqtt as Record<string, unknown>;
  const { cert, key } = o.pki.cert(o.cert ?? 'gateway-test-gw');
  mqtt.tls = { ca: o.pki.ca, cert, key };
  mqtt.protocol = '5';
  if (o.keepaliveSec) mqtt.keepaliveSec = o.keepaliveSec;
  const button = (doc.devices as Array<Record<string, unknown>>)[0] as Record<string, unknown>;
  button.led = { output: 'led-0', offAfterSec: 600 };
  doc.outputs = [
    { id: 'sounder-1', line: LINES.sounder },
    { id: 'led-0', line: LINES.led },
    { id: 'strobe-1', line: LINES.strobe },
    { id: 'comms-fault', line: LINES.commsFault },
  ];
  doc.actions = [
    { on: 'alarm.unacknowledged', do: 'set', output: 'strobe-1' },
    { on: 'gateway.uplink_lost', do: 'set', output: 'comms-fault' },
    { on: 'gateway.uplink_restored', do: 'set', output: 'comms-fault', value: false },
  ];
  doc.commands = {
    keys: [
      {
        id: o.keys.ops.id,
        publicKey: o.keys.ops.publicKey,
        allow: [
          { action: 'output.pulse', devices: ['sounder-*'] },
          { action: 'alarm.ack', devices: ['panic-*'] },
        ],
      },
      {
        id: o.keys.limited.id,
        publicKey: o.keys.limited.publicKey,
        allow: [{ action: 'output.pulse', devices: ['strobe-*'] }],
      },
    ],
  };
  if (o.escalationSec) doc.escalation = { afterSec: o.escalationSec };
  return doc;
}

export async function startGateway(doc: Record<string, unknown>): Promise<{ agent: Agent; gpio: RecordingGpio }> {
  const r = checkConfig(doc);
  if (!r.ok) throw new Error(r.problems.join('; '));
  const gpio = new RecordingGpio();
  const agent = await Agent.start({ config: r.config, log: createLogger('silent'), gpioBackend: () => gpio });
  return { agent, gpio };
}
