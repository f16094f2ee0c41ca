// The acknowledge loop (issue 10): sim panic press → event at the control room → the control room
// signs and sends alarm.ack → the gateway verifies it (Ed25519, nonce committed FULL) → the
// button's LED line is written. Timed from the press to the LED write, in this one process.
// Floor: two raw mqtt.js QoS 1 publish→receive round trips (the alarm out, the ack back) over the
// same broker, sampled in blocks alternating with the presses.
// Also the failover time: the first broker is killed (SIGKILL: the socket closes at once) and the
// time until the agent is connected to the second one, and until a press reaches its subscriber,
// with the shipped backoff defaults (a silent path adds up to 1.5 × keepaliveSec to detect).

import { newKeyPair, privateKeyFromPem } from '../agent/commands/keys.js';
import { signEnvelope } from '../agent/commands/sign.js';
import { checkConfig } from '../agent/config/load.js';
import { Agent } from '../agent/runtime.js';
import { type LineRef, lineKey, type OutputHandle } from '../drivers/gpio/backend.js';
import { SimGpioBackend } from '../drivers/gpio/sim.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { connectRaw, MqttRttProbe, SqliteCommitProbe } from './floors.js';
import {
  benchLogger,
  type Check,
  configDoc,
  flag,
  isMain,
  option,
  result,
  round,
  runMain,
  stopBroker,
  summary,
  tempDir,
  until,
} from './util.js';

const GW = 'ack-gw';
const LED_LINE = 60;
const WARMUP = 20;
const BLOCK = 50;

/** Sim GPIO that resolves a waiter when the LED line is written. */
class LedWatch extends SimGpioBackend {
  waiter: { level: 0 | 1; resolve: (t: number) => void } | undefined;
  override async openOutput(ref: LineRef, initial: 0 | 1): Promise<OutputHandle> {
    const h = await super.openOutput(ref, initial);
    if (lineKey(ref) !== lineKey({ chip: 'gpiochip0', line: LED_LINE })) return h;
    const write = h.write.bind(h);
    (h as { write: OutputHandle['write'] }).write = async (level) => {
      const t = performance.now();
      await write(level);
      const w = this.waiter;
      if (w && w.level === level) {
        this.waiter = undefined;
        w.resolve(t);
      }
    };
    return h;
  }
  next(level: 0 | 1): Promise<number> {
    return new Promise((resolve) => {
      this.waiter = { level, resolve };
    });
  }
}

function gatewayConfig(dataDir: string, brokers: string[], publicKey?: string) {
  const doc = configDoc({ id: GW, dataDir, brokers, devices: 1 });
  (doc.devices as Array<Record<string, unknown>>)[0] = {
    ...((doc.devices as Array<Record<string, unknown>>)[0] as Record<string, unknown>),
    led: { output: 'led-0', offAfterSec: 600 },
  };
  doc.outputs = [{ id: 'led-0', line: LED_LINE }];
  if (publicKey)
    doc.commands = { keys: [{ id: 'bench', publicKey, allow: [{ action: 'alarm.ack', devices: ['panic-*'] }] }] };
  const r = checkConfig(doc);
  if (!r.ok) throw new Error(r.problems.join('\n'));
  return r.config;
}

/**
 * Mosquitto leaves Nagle on by default: its small PUBLISH of the command to the gateway waits for
 * the TCP ACK of its previous PUBACK, which the gateway delays by 40 ms (measured: loop p50 55 ms
 * without, see README). config/mosquitto-central.conf sets it; so does this broker.
 */
const CENTRAL_BROKER = ['set_tcp_nodelay true'];

async function roundTrips(presses: number) {
  const tmp = tempDir('ack');
  const mosq = new Mosquitto({ extra: flag('nagle') ? [] : CENTRAL_BROKER });
  let agent: Agent | undefined;
  let room: Awaited<ReturnType<typeof connectRaw>> | undefined;
  try {
    await mosq.start();
    const pair = newKeyPair();
    const key = privateKeyFromPem(pair.privatePem);
    const gpio = new LedWatch();
    agent = await Agent.start({
      config: gatewayConfig(tmp.dir, [mosq.url], pair.publicKey),
      log: benchLogger(),
      gpioBackend: () => gpio,
    });
    const a = agent;
    // The control room: acknowledges every press it receives, as fast as it can sign.
    const central = await connectRaw(mosq.url, `control-room-${process.pid}`);
    room = central;
    await central.subscribeAsync(`wardgate/v1/${GW}/events/panic-button/#`, { qos: 1 });
    central.on('message', (_topic, payload) => {
      const ev = JSON.parse(payload.toString()) as { id: string; type: string; device: string };
      if (ev.type !== 'panic.pressed') return;
      const env = signEnvelope(key, { keyId: 'bench', device: ev.device, action: 'alarm.ack', args: { id: ev.id } });
      central.publish(`wardgate/v1/${GW}/cmd/${ev.device}`, JSON.stringify(env), { qos: 1 });
    });
    await until(() => a.uplink.connected, 10_000, 'the uplink to connect');
    await until(() => a.outbox.depth === 0, 10_000, 'the start-up events to drain');
    // Subscribed before online (see commands tests); one ack proves the loop before timing it.
    const one = async () => {
      const lit = gpio.next(1);
      const t0 = performance.now();
      await a.simulate('panic-0', 'button', true);
      const t1 = await lit;
      const off = gpio.next(0);
      await a.simulate('panic-0', 'button', false); // release turns the LED off
      await off;
      // Each press starts from a quiet box, as in latency.ts: the release, command.executed and
      // alarm.acknowledged of this round are delivered first.
      await until(() => a.outbox.depth === 0 && a.outbox.inflightCount === 0, 10_000, 'a quiet outbox', 1);
      return t1 - t0;
    };
    for (let i = 0; i < WARMUP; i++) await one();
    const probe = await MqttRttProbe.open(mosq.url, 400);
    const commitProbe = new SqliteCommitProbe(tmp.dir, 400);
    const loops: number[] = [];
    const rtts: number[] = [];
    const commits: number[] = [];
    try {
      for (let done = 0; done < presses; ) {
        const block = Math.min(BLOCK, presses - done);
        for (let k = 0; k < block; k++) loops.push(await one());
        done += block;
        rtts.push(...(await probe.sample(block)));
        commits.push(...commitProbe.sample(block));
      }
    } finally {
      await probe.close();
      commitProbe.close();
    }
    const executed = a.status().commands.executed;
    await a.stop('bench done');
    agent = undefined;
    return { loops, rtts, commits, executed };
  } finally {
    await agent?.stop('bench aborted').catch(() => undefined);
    await room?.endAsync(true).catch(() => undefined);
    await stopBroker(mosq);
    tmp.cleanup();
  }
}

async function failover(rounds: number) {
  const toConnected: number[] = [];
  const toDelivered: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const tmp = tempDir('failover');
    const first = new Mosquitto();
    const second = new Mosquitto();
    let agent: Agent | undefined;
    let sub: Awaited<ReturnType<typeof connectRaw>> | undefined;
    try {
      await first.start();
      await second.start();
      agent = await Agent.start({ config: gatewayConfig(tmp.dir, [first.url, second.url]), log: benchLogger('error') });
      const a = agent;
      await until(() => a.uplink.url === first.url, 10_000, 'connected to the first broker');
      const s = await connectRaw(second.url, `failover-sub-${process.pid}-${i}`);
      sub = s;
      let received: number | undefined;
      s.on('message', (_t, payload) => {
        if ((JSON.parse(payload.toString()) as { type: string }).type === 'panic.pressed')
          received ??= performance.now();
      });
      await s.subscribeAsync(`wardgate/v1/${GW}/events/#`, { qos: 1 });
      const t0 = performance.now();
      await first.stop('SIGKILL');
      void a.simulate('panic-0', 'button', true);
      await until(() => a.uplink.url === second.url, 60_000, 'failed over', 1);
      toConnected.push(performance.now() - t0);
      await until(() => received !== undefined, 30_000, 'the press via the second broker', 1);
      toDelivered.push((received as number) - t0);
    } finally {
      await agent?.stop('bench done').catch(() => undefined);
      await sub?.endAsync(true).catch(() => undefined);
      await stopBroker(first);
      await stopBroker(second);
      tmp.cleanup();
    }
  }
  return { toConnected, toDelivered };
}

export async function ack() {
  const quick = flag('quick');
  const presses = option('presses', quick ? 200 : 1000);
  const rounds = option('failover-rounds', quick ? 3 : 8);
  const { loops, rtts, commits, executed } = await roundTrips(presses);
  const fo = await failover(rounds);
  const loop = summary(loops);
  const rtt = summary(rtts);
  const floorP99 = 2 * rtt.p99;
  const commit = summary(commits);
  // The loop commits twice on the way (the press, then the command's nonce): durable floor.
  const durableP99 = 2 * rtt.p99 + 2 * commit.p99;
  const conn = summary(fo.toConnected);
  const deliv = summary(fo.toDelivered);
  const checks: Check[] = [
    {
      what: 'ack loop p99 (press → control-room alarm.ack → LED lit)',
      value: round(loop.p99),
      unit: 'ms',
      floor: round(floorP99),
      floorWhat: `2 × raw QoS1 pub→recv p99 (${round(rtt.p99)})`,
      ratio: round(loop.p99 / floorP99, 2),
      target: '— (reported)',
      pass: null,
    },
    {
      what: 'ack loop p99 vs a durable floor',
      value: round(loop.p99),
      unit: 'ms',
      floor: round(durableP99),
      floorWhat: `2 × QoS1 pub→recv p99 + 2 × FULL commit p99 (${round(commit.p99)})`,
      ratio: round(loop.p99 / durableP99, 2),
      target: '—',
      pass: null,
    },
    {
      what: 'ack loop p50',
      value: round(loop.p50),
      unit: 'ms',
      floor: round(2 * rtt.p50),
      ratio: round(loop.p50 / (2 * rtt.p50), 2),
      target: '—',
      pass: null,
    },
    {
      what: 'failover: broker killed → connected to the second, max',
      value: round(conn.max),
      unit: 'ms',
      target: '—',
      pass: null,
    },
    {
      what: 'failover: broker killed → press delivered via the second, max',
      value: round(deliv.max),
      unit: 'ms',
      target: '—',
      pass: null,
    },
  ];
  const problems = executed === WARMUP + presses ? [] : [`${executed} acks executed, expected ${WARMUP + presses}`];
  return result(
    'ack',
    'Acknowledge loop over a real Mosquitto, and broker failover time',
    { presses, warmup: WARMUP, failoverRounds: rounds, backoff: 'shipped defaults (mqtt.backoff)', qos: 1 },
    checks,
    {
      loop,
      floor: { mqttQos1PublishReceive: rtt, times: 2, sqliteFullCommit: commit },
      failover: { toConnected: conn, toDelivered: deliv },
    },
    problems,
  );
}

if (isMain(import.meta.url)) runMain(ack);
