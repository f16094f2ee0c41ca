// Fleet: N gateways × M panic buttons against one Mosquitto. Each gateway is a full in-process
// Agent (its own outbox database and checkpoint worker, its own uplink connection and gateway id).
// Every button is pressed and released `rounds` times in one burst; a central subscriber checks
// that every accepted seq of every gateway arrives (after dedup by id), that seq order holds
// within each gateway's lane, and reports what the broker delivered per second.
// Alone: `node dist/bench/fleet.js --gateways 100 --devices 20 [--rounds 5]`.
import mqtt from 'mqtt';
import type { WgEvent } from '../agent/event.js';
import { Agent } from '../agent/runtime.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import {
  benchConfig,
  benchLogger,
  flag,
  isMain,
  MiB,
  option,
  result,
  round,
  runMain,
  stopBroker,
  tempDir,
  until,
} from './util.js';

interface Seen {
  firstAt: number;
  copies: number;
}

export async function fleet() {
  const quick = flag('quick');
  const gateways = option('gateways', quick ? 20 : 100);
  const devices = option('devices', quick ? 5 : 20);
  const rounds = option('rounds', quick ? 5 : 5);
  const tmp = tempDir('fleet');
  const mosq = new Mosquitto();
  const agents: Agent[] = [];
  const log = benchLogger();
  const central = { client: undefined as mqtt.MqttClient | undefined };
  try {
    await mosq.start();
    // The central side: every event by id, and the order of first arrivals per gateway and lane.
    const seen = new Map<string, Seen>();
    const order = new Map<string, number[]>();
    const seqs = new Map<string, Set<number>>();
    let messages = 0;
    let events = 0;
    let lastNewAt = 0;
    const client = mqtt.connect(mosq.url, { clientId: `central-fleet-${process.pid}`, protocolVersion: 5 });
    central.client = client;
    client.on('message', (topic, payload) => {
      messages++;
      if (!topic.includes('/events/')) return;
      events++;
      const ev = JSON.parse(payload.toString()) as WgEvent;
      const s = seen.get(ev.id);
      if (s) {
        s.copies++;
        return;
      }
      lastNewAt = performance.now();
      seen.set(ev.id, { firstAt: lastNewAt, copies: 1 });
      const lane = `${ev.gateway}/${ev.severity}`;
      const o = order.get(lane) ?? [];
      o.push(ev.seq);
      order.set(lane, o);
      const g = seqs.get(ev.gateway) ?? new Set<number>();
      g.add(ev.seq);
      seqs.set(ev.gateway, g);
    });
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    await client.subscribeAsync('wardgate/v1/#', { qos: 1 });

    const tStart = performance.now();
    for (let g = 0; g < gateways; g++) {
      const id = `fleet-gw-${String(g).padStart(3, '0')}`;
      const config = benchConfig({ id, dataDir: `${tmp.dir}/${id}`, brokers: [mosq.url], devices });
      agents.push(await Agent.start({ config, log: log.child({ gateway: id }) }));
    }
    const startMs = performance.now() - tStart;
    await until(() => agents.every((a) => a.uplink.connected), 30_000, 'every gateway to connect', 20);
    await until(() => agents.every((a) => a.outbox.depth === 0), 30_000, 'start-up events to drain', 20);

    const expected = new Map<string, { gateway: string; seq: number }>();
    const t0 = performance.now();
    const messagesBefore = messages;
    // A burst: every button of every gateway pressed and released `rounds` times at once (debounce
    // 0, so each edge is an event at once); then wait for every one to be durable.
    const all: Array<ReturnType<Agent['simulate']>> = [];
    for (let r = 0; r < rounds; r++) {
      for (const a of agents) {
        for (let d = 0; d < devices; d++) {
          all.push(a.simulate(`panic-${d}`, 'button', true));
          all.push(a.simulate(`panic-${d}`, 'button', false));
        }
      }
    }
    for (const { accepted } of await Promise.all(all))
      for (const ev of accepted) expected.set(ev.id, { gateway: ev.gateway, seq: ev.seq });
    const acceptMs = performance.now() - t0;
    const want = gateways * devices * rounds * 2;
    await until(
      () => [...expected.keys()].every((id) => seen.has(id)),
      60_000 + want,
      `${expected.size} events at the central subscriber`,
      20,
    ).catch(() => {});
    const deliverMs = lastNewAt - t0;
    const rss = process.memoryUsage.rss();

    // Correctness: nothing lost, every seq of every gateway present, order by seq within a lane.
    const problems: string[] = [];
    const missing = [...expected.keys()].filter((id) => !seen.has(id));
    if (expected.size !== want) problems.push(`expected ${want} accepted events, the agents reported ${expected.size}`);
    if (missing.length > 0) problems.push(`${missing.length} accepted events never arrived`);
    let gaps = 0;
    for (const a of agents) {
      const got = seqs.get(a.config.gateway.id) ?? new Set<number>();
      for (let s = 1; s <= a.outbox.lastSeq; s++) if (!got.has(s)) gaps++;
    }
    if (gaps > 0) problems.push(`${gaps} seqs missing across gateways`);
    let disorder = 0;
    for (const list of order.values())
      for (let i = 1; i < list.length; i++) if ((list[i] as number) <= (list[i - 1] as number)) disorder++;
    if (disorder > 0) problems.push(`${disorder} out-of-order first arrivals within a gateway lane`);
    const duplicates = events - seen.size;
    const received = expected.size - missing.length;
    const eventsPerSec = (received / deliverMs) * 1000;
    const msgsPerSec = ((messages - messagesBefore) / deliverMs) * 1000;

    return result(
      'fleet',
      `Fleet: ${gateways} gateways × ${devices} buttons on one Mosquitto`,
      { gateways, devices, rounds, eventsPerRun: want, inProcess: true, qos: 1 },
      [
        {
          what: 'events lost',
          value: missing.length + gaps,
          unit: 'events',
          target: '0',
          pass: missing.length + gaps === 0,
        },
        { what: 'order violations (per gateway lane)', value: disorder, unit: '', target: '0', pass: disorder === 0 },
        {
          what: 'broker → central, events',
          value: Math.round(eventsPerSec),
          unit: 'events/s',
          target: '—',
          pass: null,
        },
        { what: 'broker → central, all msgs', value: Math.round(msgsPerSec), unit: 'msgs/s', target: '—', pass: null },
        { what: 'duplicates (deduped by id)', value: duplicates, unit: 'msgs', target: '—', pass: null },
        {
          what: `RSS, ${gateways} agents in one process`,
          value: round(rss / MiB, 0),
          unit: 'MiB',
          target: '—',
          pass: null,
        },
      ],
      {
        startAllMs: startMs,
        acceptAllMs: acceptMs,
        deliverAllMs: deliverMs,
        received,
        expected: expected.size,
        duplicates,
        messages: messages - messagesBefore,
        rssBytes: rss,
        rssPerGatewayMiB: rss / MiB / gateways,
      },
      problems,
    );
  } finally {
    await Promise.all(agents.map((a) => a.stop('bench done').catch(() => undefined)));
    await central.client?.endAsync(true).catch(() => undefined);
    await stopBroker(mosq);
    tmp.cleanup();
  }
}

if (isMain(import.meta.url)) runMain(fleet);
