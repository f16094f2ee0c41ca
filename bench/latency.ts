// Alarm latency: a simulated panic press → the central subscriber's receipt, through the real
// outbox (FULL commit), drain, uplink and a real Mosquitto. One press at a time (press, then
// release), both clocks from performance.now() in this one process. Driven by agent.simulate():
// sim GPIO edge → driver → device model → outbox → drain → mqtt.js → broker (no HTTP in the path).
// Floor: p99 of one FULL commit of a same-size row + p99 of a raw QoS1 publish→receive.

import { STAGES } from '../agent/outbox/timeline.js';
import { Agent } from '../agent/runtime.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { connectRaw, MqttRttProbe, SqliteCommitProbe } from './floors.js';
import {
  benchConfig,
  benchLogger,
  type Check,
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

const GW = 'lat-gw';
/** Presses rotate over this many buttons: one line pressed ~1000 times a second is a flood the GPIO driver sheds (5 s quarantine). */
const BUTTONS = 40;
let device = 'panic-0';
const WARMUP = 50;
const BLOCK = 100;

export async function latency() {
  const quick = flag('quick');
  const presses = option('presses', quick ? 500 : 3000);
  const noFloor = flag('no-floor');
  const tmp = tempDir('latency');
  const mosq = new Mosquitto();
  let agent: Agent | undefined;
  const central = { client: undefined as Awaited<ReturnType<typeof connectRaw>> | undefined };
  try {
    await mosq.start();
    const sub = await connectRaw(mosq.url, `central-latency-${process.pid}`);
    central.client = sub;
    await sub.subscribeAsync(`wardgate/v1/${GW}/events/#`, { qos: 1 });
    let waiter: { type: string; resolve: (r: { t: number; bytes: number }) => void } | undefined;
    sub.on('message', (_topic, payload) => {
      const t = performance.now();
      const ev = JSON.parse(payload.toString()) as { type: string; device: string };
      if (waiter && ev.device === device && ev.type === waiter.type) {
        const w = waiter;
        waiter = undefined;
        w.resolve({ t, bytes: payload.length });
      }
    });

    const config = benchConfig({ id: GW, dataDir: tmp.dir, brokers: [mosq.url], devices: BUTTONS });
    agent = await Agent.start({ config, log: benchLogger() });
    const a = agent;
    await until(() => a.uplink.connected, 10_000, 'the uplink to connect');
    await until(() => a.outbox.depth === 0, 10_000, 'the start-up events to drain');
    // Per-stage timeline of every measured press (issue 13): where the time goes.
    const timelines: Float64Array[] = [];
    let recording = false;
    a.timeline.onComplete((stamps) => {
      if (recording) timelines.push(stamps.slice());
    });

    let n = 0;
    const one = async (active: boolean) => {
      if (active) device = `panic-${n++ % BUTTONS}`; // the release goes to the button just pressed
      const type = active ? 'panic.pressed' : 'panic.released';
      const got = new Promise<{ t: number; bytes: number }>((resolve) => {
        waiter = { type, resolve };
      });
      const t0 = performance.now();
      const durable = a.simulate(device, 'button', active).then((r) => {
        if (r.accepted.length !== 1) throw new Error(`expected one ${type}, got ${r.accepted.length}`);
        return performance.now();
      });
      const [rx, tDurable] = await Promise.all([got, durable]);
      return { e2e: rx.t - t0, durable: tDurable - t0, bytes: rx.bytes };
    };

    const pressE2e: number[] = [];
    const pressDurable: number[] = [];
    const releaseE2e: number[] = [];
    const commits: number[] = [];
    const rtts: number[] = [];
    let bytes = 0;
    for (let i = 0; i < WARMUP; i++) {
      bytes = (await one(true)).bytes;
      await one(false);
    }
    // fsync and scheduling on a VM drift over seconds: blocks of presses alternate with blocks of
    // floor samples (the agent idle meanwhile), so both see the same conditions.
    const commitProbe = noFloor ? undefined : new SqliteCommitProbe(tmp.dir, bytes);
    const rttProbe = noFloor ? undefined : await MqttRttProbe.open(mosq.url, bytes);
    recording = true;
    try {
      for (let done = 0; done < presses; ) {
        const block = Math.min(BLOCK, presses - done);
        for (let k = 0; k < block; k++) {
          const p = await one(true);
          const r = await one(false);
          pressE2e.push(p.e2e);
          pressDurable.push(p.durable);
          releaseE2e.push(r.e2e);
        }
        done += block;
        if (commitProbe) commits.push(...commitProbe.sample(block));
        if (rttProbe) rtts.push(...(await rttProbe.sample(block)));
      }
    } finally {
      commitProbe?.close();
      await rttProbe?.close();
    }
    recording = false;
    await agent.stop('bench done');
    agent = undefined;
    const stages: Record<string, ReturnType<typeof summary>> = {};
    for (const [i, name] of STAGES.entries()) {
      if (i === 0) continue;
      stages[name] = summary(timelines.map((t) => (t[i] as number) - (t[i - 1] as number)));
    }
    stages.total = summary(timelines.map((t) => (t[STAGES.length - 1] as number) - (t[0] as number)));

    const press = summary(pressE2e);
    const durable = summary(pressDurable);
    const release = summary(releaseE2e);
    const checks: Check[] = [];
    const raw: Record<string, unknown> = { press, durable, release, payloadBytes: bytes, stages };
    if (!noFloor) {
      const commit = summary(commits);
      const rtt = summary(rtts);
      const floorP99 = commit.p99 + rtt.p99;
      const floorP50 = commit.p50 + rtt.p50;
      raw.floor = { sqliteFullCommit: commit, mqttQos1PublishReceive: rtt, blockSize: BLOCK };
      checks.push({
        what: 'alarm p99 (press → subscriber)',
        value: round(press.p99),
        unit: 'ms',
        floor: round(floorP99),
        floorWhat: `FULL commit p99 ${round(commit.p99)} + QoS1 pub→recv p99 ${round(rtt.p99)}`,
        ratio: round(press.p99 / floorP99, 2),
        target: '≤ 1.3× floor',
        pass: press.p99 <= 1.3 * floorP99,
      });
      checks.push({
        what: 'alarm p50',
        value: round(press.p50),
        unit: 'ms',
        floor: round(floorP50),
        floorWhat: `FULL commit p50 ${round(commit.p50)} + QoS1 pub→recv p50 ${round(rtt.p50)}`,
        ratio: round(press.p50 / floorP50, 2),
        target: '—',
        pass: null,
      });
      checks.push({
        what: 'press durable (simulate resolved) p99',
        value: round(durable.p99),
        unit: 'ms',
        floor: round(commit.p99),
        floorWhat: 'FULL commit p99',
        ratio: round(durable.p99 / commit.p99, 2),
        target: '—',
        pass: null,
      });
    }
    checks.push({ what: 'alarm max', value: round(press.max), unit: 'ms', target: '—', pass: null });
    checks.push({
      what: `timeline p50 per stage (µs): ${Object.entries(stages)
        .map(([k, v]) => `${k} ${Math.round(v.p50 * 1000)}`)
        .join(', ')}`,
      value: round(stages.total?.p50 ?? 0),
      unit: 'ms edge → PUBACK p50',
      target: '—',
      pass: null,
    });
    return result(
      'latency',
      'Alarm latency: sim panic press → subscriber (real Mosquitto)',
      { presses, warmup: WARMUP, debounceMs: 0, minHoldMs: 0, path: 'agent.simulate() in-process', qos: 1 },
      checks,
      raw,
    );
  } finally {
    await agent?.stop('bench aborted').catch(() => undefined);
    await central.client?.endAsync(true).catch(() => undefined);
    await stopBroker(mosq);
    tmp.cleanup();
  }
}

if (isMain(import.meta.url)) runMain(latency);
