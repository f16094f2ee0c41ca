// The central consumer's cost (issue 15): how fast `CentralConsumer` (dedup, ordering, gap
// accounting, journal on disk, as `wardgate watch` runs it) takes a backlog off Mosquitto, against
// a bare mqtt.js subscriber taking the same backlog in the same run (target ≥ 0.7×); and its
// memory once it has seen 1,000 gateways.
// Method: both subscribers have persistent sessions; they disconnect, a publisher puts N events
// of G gateways (seq per gateway, lanes mixed) into both sessions, then each subscriber in turn
// connects and is timed from CONNACK to its Nth message. Draining a queued session measures the
// subscriber alone (the publisher is not in the race).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import mqtt from 'mqtt';
import { CentralConsumer } from '../agent/central/consumer.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { flag, isMain, MiB, option, result, round, runMain, stopBroker, tempDir } from './util.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const SEVERITIES = ['critical', 'high', 'normal', 'normal', 'low'] as const;

function payloads(n: number, gateways: number, from: number[]): Array<{ topic: string; body: string }> {
  const out: Array<{ topic: string; body: string }> = [];
  for (let i = 0; i < n; i++) {
    const g = i % gateways;
    const seq = (from[g] ?? 0) + 1;
    from[g] = seq;
    const gateway = `bench-gw-${String(g).padStart(4, '0')}`;
    const device = `panic-${i % 20}`;
    const ev = {
      id: `0193c6b2-${String(g).padStart(4, '0')}-7a3b-9c41-${String(seq).padStart(12, '0')}`,
      seq,
      gateway,
      site: 'bench-site',
      device,
      deviceType: 'panic-button',
      type: 'panic.pressed',
      severity: SEVERITIES[seq % SEVERITIES.length],
      ts: new Date().toISOString(),
      clock: { synced: true, bootId: 'b00t', uptimeMs: 123456 },
      data: { name: 'Bench button', location: 'Bench ward, bay 3', input: 'button' },
    };
    out.push({ topic: `wardgate/v1/${gateway}/events/panic-button/${device}`, body: JSON.stringify(ev) });
  }
  return out;
}

async function publishAll(url: string, msgs: Array<{ topic: string; body: string }>): Promise<void> {
  const pub = await mqtt.connectAsync(url, { clientId: `bench-pub-${process.pid}`, protocolVersion: 5 });
  const window = 256;
  let next = 0;
  const worker = async () => {
    while (next < msgs.length) {
      const m = msgs[next++] as { topic: string; body: string };
      await pub.publishAsync(m.topic, m.body, { qos: 1 });
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  await pub.endAsync();
}

/** A bare mqtt.js subscriber: persistent session, counts (and parses, as any consumer must). */
async function bare(url: string, n: number, connectOnly = false): Promise<number> {
  let got = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => {
    done = r;
  });
  const c = mqtt.connect(url, {
    clientId: 'bench-bare',
    protocolVersion: 5,
    clean: false,
    properties: { sessionExpiryInterval: 3600 },
  });
  c.on('message', (_t, p) => {
    JSON.parse(p.toString('utf8'));
    if (++got === n) done();
  });
  await new Promise<void>((r) => c.once('connect', () => r()));
  const t0 = performance.now();
  if (connectOnly) await c.subscribeAsync('wardgate/v1/+/events/#', { qos: 1 });
  else await all;
  const ms = performance.now() - t0;
  await c.endAsync();
  return connectOnly ? 0 : (n / ms) * 1000;
}

async function central(url: string, n: number, stateDir: string, connectOnly = false) {
  let got = 0;
  let done: () => void = () => {};
  const all = new Promise<void>((r) => {
    done = r;
  });
  const c = new CentralConsumer({
    broker: url,
    clientId: 'bench-central',
    stateDir,
    sequencer: { fromSeqOne: true },
    onRecord: (r) => {
      if (r.kind === 'event' && ++got === n) done();
    },
  });
  const t0 = performance.now();
  await c.start();
  if (!connectOnly) await all;
  const ms = performance.now() - t0;
  const stats = c.sequencer.statistics();
  return { rate: connectOnly ? 0 : (n / ms) * 1000, stats, consumer: c };
}

export async function consumerBench() {
  const quick = flag('quick');
  const n = option('events', quick ? 20_000 : 100_000);
  const gateways = option('gateways', 1000);
  // Best of several rounds: on a shared 2-core VM one round can meet another process's burst.
  const rounds = quick ? 2 : 3;
  const tmp = tempDir('consumer');
  const broker = await new Mosquitto().start();
  try {
    const stateDir = join(tmp.dir, 'state');
    mkdirSync(stateDir, { recursive: true });
    // Sessions exist before the backlog is published.
    await bare(broker.url, 0, true);
    const first = await central(broker.url, 0, stateDir, true);
    await first.consumer.stop();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const from: number[] = [];
    const bareRates: number[] = [];
    const centralRates: number[] = [];
    let stats: ReturnType<CentralConsumer['sequencer']['statistics']> | undefined;
    let heapAfter = 0;
    let rssAfter = 0;
    for (let r = 0; r < rounds; r++) {
      await publishAll(broker.url, payloads(n, gateways, from));
      bareRates.push(await bare(broker.url, n));
      const c = await central(broker.url, n, stateDir);
      centralRates.push(c.rate);
      stats = c.stats;
      gc();
      heapAfter = process.memoryUsage().heapUsed;
      rssAfter = process.memoryUsage.rss();
      await c.consumer.stop();
    }
    const bareBest = Math.max(...bareRates);
    const centralBest = Math.max(...centralRates);
    const ratio = round(centralBest / bareBest, 2);
    const problems: string[] = [];
    if (stats && stats.released !== n * rounds) problems.push(`released ${stats.released} of ${n * rounds} events`);
    if (stats && stats.held !== 0) problems.push(`${stats.held} events still held`);
    return result(
      'consumer',
      `Central consumer vs a bare mqtt.js subscriber, ${gateways} gateways`,
      { events: n, gateways, rounds, qos: 1, journal: true },
      [
        {
          what: 'throughput vs bare mqtt.js subscriber',
          value: Math.round(centralBest),
          floor: Math.round(bareBest),
          ratio,
          unit: 'events/s',
          target: '≥ 0.7×',
          pass: ratio >= 0.7,
        },
        {
          what: `heap held for ${gateways} gateways (after GC)`,
          value: round((heapAfter - heapBefore) / MiB, 1),
          unit: 'MiB',
          target: '—',
          pass: null,
        },
        { what: 'RSS after the drain', value: round(rssAfter / MiB, 0), unit: 'MiB', target: '—', pass: null },
      ],
      { bareRates, centralRates, heapBefore, heapAfter, rssAfter, stats },
      problems,
    );
  } finally {
    await stopBroker(broker);
    tmp.cleanup();
  }
}

if (isMain(import.meta.url)) runMain(consumerBench);
