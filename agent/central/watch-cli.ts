// `wardgate watch` and `wardgate ack` (issue 15, DESIGN §10): the control room's console on the
// central consumer library (consumer.ts), and a script's way to acknowledge one alarm.
import { homedir, hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage } from '../errors.js';
import { type AckSigner, ackCommand, loadSigner } from './ack.js';
import { CentralConsumer, type ConsumerOptions, type ConsumerRecord } from './consumer.js';
import { AlarmBoard } from './render.js';

const EX_USAGE = 64;

const COMMON = {
  broker: { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  username: { type: 'string' },
  prefix: { type: 'string' },
  'ack-key': { type: 'string' },
  'key-id': { type: 'string' },
  by: { type: 'string' },
} as const;

export const WATCH_USAGE = `usage: wardgate watch --broker URL [--tls-ca FILE --tls-cert FILE --tls-key FILE] [--username U]
         [--client-id ID] [--site S] [--gateways GLOB] [--json] [--share GROUP [--pinned]]
         [--state-dir DIR] [--max-wait-ms N] [--gap-timeout-sec N] [--health-stale-sec N] [--from-seq-one]
         [--ack-key FILE --key-id ID [--by NAME]]
  (password: WARDGATE_MQTT_PASSWORD in the environment)`;

export const ACK_USAGE = `usage: wardgate ack --broker URL [--tls-…] --gateway GW --device DEV (--event ID | --seq N)
         --ack-key FILE --key-id ID [--by NAME] [--wait-sec N]`;

function tlsOf(v: Record<string, unknown>): ConsumerOptions['tls'] {
  const tls = {
    ...(typeof v['tls-ca'] === 'string' ? { ca: v['tls-ca'] } : {}),
    ...(typeof v['tls-cert'] === 'string' ? { cert: v['tls-cert'] } : {}),
    ...(typeof v['tls-key'] === 'string' ? { key: v['tls-key'] } : {}),
  };
  return Object.keys(tls).length > 0 ? tls : undefined;
}

function num(v: unknown, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
}

export async function watch(argv: string[]): Promise<number> {
  let v: Record<string, string | boolean | undefined>;
  try {
    v = parseArgs({
      args: argv,
      options: {
        ...COMMON,
        'client-id': { type: 'string' },
        site: { type: 'string' },
        gateways: { type: 'string' },
        json: { type: 'boolean' },
        share: { type: 'string' },
        pinned: { type: 'boolean' },
        'state-dir': { type: 'string' },
        'max-wait-ms': { type: 'string' },
        'gap-timeout-sec': { type: 'string' },
        'health-stale-sec': { type: 'string' },
        'from-seq-one': { type: 'boolean' },
      },
    }).values;
    if (!v.broker) throw new Error('--broker is required');
    if ((v['ack-key'] === undefined) !== (v['key-id'] === undefined))
      throw new Error('--ack-key and --key-id go together');
    for (const n of ['max-wait-ms', 'gap-timeout-sec', 'health-stale-sec']) num(v[n], n);
  } catch (err) {
    process.stderr.write(`watch: ${errorMessage(err)}\n${WATCH_USAGE}\n`);
    return EX_USAGE;
  }
  const json = v.json === true;
  const signer = v['ack-key']
    ? loadSigner(String(v['ack-key']), String(v['key-id']), String(v.by ?? userInfo().username))
    : undefined;
  // Stable by default: the same client id finds its persistent session (and journal) again.
  const clientId = String(v['client-id'] ?? `wardgate-watch-${hostname()}`);
  const board = new AlarmBoard();
  let dirty = true;
  const onRecord = (r: ConsumerRecord) => {
    if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
    else {
      board.apply(r);
      dirty = true;
    }
  };
  const consumer = new CentralConsumer({
    broker: String(v.broker),
    clientId,
    onRecord,
    stateDir: String(
      v['state-dir'] ?? join(process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'wardgate'),
    ),
    ...(v.prefix ? { prefix: String(v.prefix) } : {}),
    ...(v.share ? { share: String(v.share), pinned: v.pinned === true } : {}),
    ...(v.gateways ? { gateways: String(v.gateways) } : {}),
    ...(v.site ? { site: String(v.site) } : {}),
    ...(tlsOf(v) ? { tls: tlsOf(v) } : {}),
    ...(v.username ? { username: String(v.username) } : {}),
    ...(process.env.WARDGATE_MQTT_PASSWORD ? { password: process.env.WARDGATE_MQTT_PASSWORD } : {}),
    ...(num(v['health-stale-sec'], 'health-stale-sec')
      ? { healthStaleSec: num(v['health-stale-sec'], 'health-stale-sec') }
      : {}),
    sequencer: {
      ...(num(v['max-wait-ms'], 'max-wait-ms') ? { maxWaitMs: num(v['max-wait-ms'], 'max-wait-ms') } : {}),
      ...(num(v['gap-timeout-sec'], 'gap-timeout-sec')
        ? { gapTimeoutMs: (num(v['gap-timeout-sec'], 'gap-timeout-sec') as number) * 1000 }
        : {}),
      fromSeqOne: v['from-seq-one'] === true,
    },
  });
  const { mkdirSync } = await import('node:fs');
  mkdirSync(String(consumer.opts.stateDir), { recursive: true, mode: 0o700 });
  await consumer.start();

  let draw: NodeJS.Timeout | undefined;
  if (!json) {
    draw = setInterval(() => {
      if (!dirty) return;
      dirty = false;
      process.stdout.write(board.render(signer !== undefined));
    }, 200);
    if (process.stdin.isTTY) {
      process.stdin.setRawMode(true);
      process.stdin.on('data', (d: Buffer) => {
        // Keys typed quickly (or pasted) arrive together in one chunk.
        for (const k of d.toString()) {
          if (k === 'q' || k === '\x03') process.kill(process.pid, 'SIGINT');
          else if (/^[1-9]$/.test(k)) board.selected = Number(k) - 1;
          else if (k === 'a' && signer) void acknowledge(consumer, board, signer);
        }
        dirty = true;
      });
    }
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  if (draw) clearInterval(draw);
  if (process.stdin.isTTY) process.stdin.setRawMode(false);
  await consumer.stop();
  process.stdin.pause();
  return 0;
}

async function acknowledge(consumer: CentralConsumer, board: AlarmBoard, signer: AckSigner): Promise<void> {
  const a = board.alarms[board.selected];
  if (!a || a.ack) return;
  const { topic, envelope } = ackCommand(
    consumer.prefix,
    { gateway: a.ev.gateway, device: String(a.ev.device), id: a.ev.id },
    signer,
  );
  board.markPending(board.selected, envelope.commandId);
  try {
    await consumer.publish(topic, JSON.stringify(envelope));
  } catch (err) {
    board.note(`acknowledge not sent: ${errorMessage(err)}`);
  }
}

/** `wardgate ack`: one signed alarm.ack; prints the cmd-result and the alarm.acknowledged event. */
export async function ack(argv: string[]): Promise<number> {
  let v: Record<string, string | boolean | undefined>;
  try {
    v = parseArgs({
      args: argv,
      options: {
        ...COMMON,
        gateway: { type: 'string' },
        device: { type: 'string' },
        event: { type: 'string' },
        seq: { type: 'string' },
        'wait-sec': { type: 'string' },
      },
    }).values;
    if (!v.broker || !v.gateway || !v.device || !v['ack-key'] || !v['key-id']) throw new Error('missing options');
    if ((v.event === undefined) === (v.seq === undefined)) throw new Error('give exactly one of --event or --seq');
  } catch (err) {
    process.stderr.write(`ack: ${errorMessage(err)}\n${ACK_USAGE}\n`);
    return EX_USAGE;
  }
  const signer = loadSigner(String(v['ack-key']), String(v['key-id']), String(v.by ?? userInfo().username));
  const prefix = String(v.prefix ?? 'wardgate/v1');
  const target = {
    gateway: String(v.gateway),
    device: String(v.device),
    ...(v.event ? { id: String(v.event) } : { seq: Number(v.seq) }),
  };
  const { topic, envelope } = ackCommand(prefix, target, signer);
  const mqtt = (await import('mqtt')).default;
  const { readFileSync } = await import('node:fs');
  const tls = tlsOf(v);
  const client = await mqtt.connectAsync(String(v.broker), {
    protocolVersion: 5,
    clientId: `wardgate-ack-${process.pid}`,
    reconnectPeriod: 0,
    ...(v.username ? { username: String(v.username) } : {}),
    ...(process.env.WARDGATE_MQTT_PASSWORD ? { password: process.env.WARDGATE_MQTT_PASSWORD } : {}),
    ...(tls?.ca ? { ca: readFileSync(tls.ca) } : {}),
    ...(tls?.cert ? { cert: readFileSync(tls.cert) } : {}),
    ...(tls?.key ? { key: readFileSync(tls.key) } : {}),
  });
  const base = `${prefix}/${target.gateway}`;
  let result: Record<string, unknown> | undefined;
  let acked: Record<string, unknown> | undefined;
  client.on('message', (t, payload) => {
    const body = JSON.parse(payload.toString()) as Record<string, unknown>;
    if (t.startsWith(`${base}/cmd-result/`) && body.commandId === envelope.commandId) {
      result = body;
      process.stdout.write(
        `${JSON.stringify({ kind: 'cmd-result', gateway: target.gateway, device: target.device, result: body })}\n`,
      );
    } else if (
      body.type === 'alarm.acknowledged' &&
      (body.data as Record<string, unknown>)?.commandId === envelope.commandId
    ) {
      acked = body;
      process.stdout.write(`${JSON.stringify({ kind: 'acknowledged', event: body })}\n`);
    }
  });
  // Subscribed before the command goes, so the answer cannot come before we listen.
  await client.subscribeAsync([`${base}/cmd-result/${target.device}`, `${base}/events/+/${target.device}`], { qos: 1 });
  await client.publishAsync(topic, JSON.stringify(envelope), { qos: 1 });
  const deadline = Date.now() + (num(v['wait-sec'], 'wait-sec') ?? 15) * 1000;
  while (Date.now() < deadline && !(result && (result.ok !== true || acked)))
    await new Promise((r) => setTimeout(r, 50));
  await client.endAsync();
  if (!result) {
    process.stderr.write(`ack: no cmd-result for ${envelope.commandId} within the wait (is the gateway online?)\n`);
    return 1;
  }
  return result.ok === true ? 0 : 1;
}
