// Backlog drain: N events accumulated while the broker was down, then Mosquitto starts on that
// port; time from the agent's reconnect to the central subscriber holding all N (by id). The agent
// that drains runs in a child process (started on the filled outbox while the broker is still
// down), sampling its RSS every 50 ms. Floor: raw mqtt.js QoS1 publishing the same payloads with
// the same in-flight window (64) to the same kind of broker, also from a child process.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import type { NewEvent } from '../agent/event.js';
import { Agent } from '../agent/runtime.js';
import { uuidv7 } from '../agent/uuidv7.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { freePort } from '../test/helpers/ports.js';
import { laneOpts, mqttWindowedPublish } from './floors.js';
import { benchEvent } from './ingest.js';
import {
  benchConfig,
  benchLogger,
  type Check,
  DEPLOYED_NODE_FLAGS,
  exited,
  flag,
  isMain,
  kill,
  MiB,
  nextMessage,
  option,
  optionString,
  result,
  round,
  runMain,
  spawnNode,
  stopBroker,
  tempDir,
  until,
  wallNow,
} from './util.js';

const WINDOW = 64;
/** Above the default 256 MiB cap, or the 1M backlog of normal events is (rightly) evicted in part. */
const MAX_BYTES = 4 * 1024 ** 3;
const DEVICE = 'bench-load';

/** Unique, cheap ids: one real UUIDv7 prefix per run, the counter in the last 12 hex digits. */
function idMaker(): (i: number) => string {
  const base = uuidv7().slice(0, 24);
  return (i) => base + i.toString(16).padStart(12, '0');
}

/** The central side: a persistent session counting distinct bench event ids as they arrive. */
class Central {
  client: MqttClient | undefined;
  readonly ids = new Set<string>();
  received = 0;
  lastNewAt = 0;
  connects = 0;

  constructor(
    private readonly url: string,
    private readonly clientId: string,
  ) {}

  async connect(): Promise<void> {
    const client = mqtt.connect(this.url, {
      clientId: this.clientId,
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 3600 },
      reconnectPeriod: 50,
    });
    this.client = client;
    client.on('error', () => {}); // refused while the broker is down; it reconnects
    client.on('connect', () => this.connects++);
    client.on('message', (topic, payload) => {
      if (!topic.endsWith(`/${DEVICE}`)) return;
      this.received++;
      // The event's first key is its id (`{"id":"…"`): no JSON.parse per message.
      const id = payload.toString('latin1', 7, 43);
      if (!this.ids.has(id)) {
        this.ids.add(id);
        this.lastNewAt = wallNow();
      }
    });
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    await client.subscribeAsync('wardgate/v1/+/events/#', { qos: 1 });
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true);
  }
}

interface ChildStats {
  kind: 'stats';
  rssAtReady: number;
  peakRss: number;
  peakRssDuringDrain: number;
  samples: number;
  /** process.memoryUsage() at the moment of the peak. */
  atPeak: NodeJS.MemoryUsage | undefined;
  /** process.memoryUsage() after the drain and a full GC: what is retained, not garbage. */
  afterGc: NodeJS.MemoryUsage | undefined;
  /** RssAnon / RssFile / RssShmem at the peak (bytes). */
  rssParts: Record<string, number>;
}

function rssBreakdown(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of readFileSync('/proc/self/status', 'utf8').matchAll(/^(Rss\w+):\s+(\d+) kB/gm))
    out[m[1] as string] = Number(m[2]) * 1024;
  return out;
}

export interface DrainRun {
  n: number;
  ms: number;
  msgsPerSec: number;
  delivered: number;
  duplicates: number;
  rss?: Omit<ChildStats, 'kind'>;
  /** Central (re)connects: 1, plus 1 for the broker restart when the agent drains. */
  centralConnects: number;
  brokerLog: string;
}

function timeoutFor(n: number): number {
  return 60_000 + n / 2;
}

async function fill(dataDir: string, url: string, n: number): Promise<void> {
  const config = benchConfig({
    id: 'drain-gw',
    dataDir,
    brokers: [url],
    backoff: { minMs: 1000, maxMs: 5000 },
    outboxMaxBytes: MAX_BYTES,
  });
  const agent = await Agent.start({ config, log: benchLogger('error') });
  try {
    const template = benchEvent(0, 'drain-gw');
    const id = idMaker();
    for (let i = 0; i < n; i += 2000) {
      const batch: Array<Promise<unknown>> = [];
      for (let k = i; k < Math.min(n, i + 2000); k++) {
        const ev: NewEvent = { ...template, id: id(k), data: { ...template.data, n: k } };
        batch.push(agent.accept(ev));
      }
      await Promise.all(batch);
    }
  } finally {
    await agent.stop('filled');
  }
}

/** The agent drains a filled outbox in a child process: reconnect → the subscriber has all N. */
async function drainAgent(n: number, profileDir: string | undefined): Promise<DrainRun> {
  const port = await freePort();
  const mosq = new Mosquitto({ port });
  const tmp = tempDir('drain');
  const central = new Central(`mqtt://127.0.0.1:${port}`, `central-drain-${process.pid}-${n}`);
  let child: ChildProcess | undefined;
  try {
    // The central session exists before the outage (persistent: the broker keeps it across restarts).
    await mosq.start();
    await central.connect();
    await mosq.stop('SIGTERM');
    await fill(tmp.dir, mosq.url, n);
    child = spawnNode(['dist/bench/drain.js', '--child-agent', tmp.dir, mosq.url], {
      // --expose-gc only so the child can tell retained memory from garbage at the end.
      // WG_BENCH_AGENT_FLAGS: node flags to try on the agent (e.g. --max-old-space-size=48).
      execArgv: [
        '--expose-gc',
        ...DEPLOYED_NODE_FLAGS, // as systemd runs it
        ...(process.env.WG_BENCH_AGENT_FLAGS?.split(' ').filter(Boolean) ?? []),
        ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
      ],
    });
    const c = child;
    await nextMessage(c, (m: { kind: string }) => m.kind === 'ready', 60_000, 'the drain child to start');
    const connected = nextMessage<{ kind: string; t: number }>(
      c,
      (m) => m.kind === 'connected',
      30_000,
      'the agent to reconnect',
    );
    await mosq.start();
    const t0 = (await connected).t;
    await until(() => central.ids.size >= n, timeoutFor(n), `${n} events at the subscriber`, 20).catch(() => {});
    const ms = central.lastNewAt - t0;
    const stats = nextMessage<ChildStats>(c, (m) => m.kind === 'stats', 30_000, 'drain child stats');
    c.send('stop');
    const { kind: _k, ...rss } = await stats;
    await exited(c, 30_000);
    return {
      n,
      ms,
      msgsPerSec: (central.ids.size / ms) * 1000,
      delivered: central.ids.size,
      duplicates: central.received - central.ids.size,
      rss,
      centralConnects: central.connects,
      brokerLog: mosq.log.slice(-2000),
    };
  } finally {
    await kill(child);
    await central.close().catch(() => undefined);
    await stopBroker(mosq);
    tmp.cleanup();
  }
}

/** The floor: raw mqtt.js in a child, same payload shape and size, same window, same broker. */
async function drainRaw(n: number): Promise<DrainRun> {
  const mosq = new Mosquitto();
  let central: Central | undefined;
  let child: ChildProcess | undefined;
  try {
    await mosq.start();
    central = new Central(mosq.url, `central-raw-${process.pid}-${n}`);
    const cen = central;
    await cen.connect();
    child = spawnNode(['dist/bench/drain.js', '--child-raw', mosq.url, String(n)]);
    const c = child;
    const done = await nextMessage<{ kind: string; connectedAt: number }>(
      c,
      (m) => m.kind === 'published',
      timeoutFor(n),
      'the raw publisher',
    );
    await until(() => cen.ids.size >= n, 30_000, `${n} raw messages at the subscriber`, 20).catch(() => {});
    const ms = cen.lastNewAt - done.connectedAt;
    await exited(c, 10_000);
    return {
      n,
      ms,
      msgsPerSec: (cen.ids.size / ms) * 1000,
      delivered: cen.ids.size,
      duplicates: cen.received - cen.ids.size,
      centralConnects: cen.connects,
      brokerLog: mosq.log.slice(-2000),
    };
  } finally {
    await kill(child);
    await central?.close().catch(() => undefined);
    await stopBroker(mosq);
  }
}

/** Child: start the agent on the filled outbox while the broker is down; report RSS when told. */
async function childAgent(dataDir: string, url: string): Promise<void> {
  const config = benchConfig({
    id: 'drain-gw',
    dataDir,
    brokers: [url],
    backoff: { minMs: 20, maxMs: 100 },
    outboxMaxBytes: MAX_BYTES,
  });
  const agent = await Agent.start({ config, log: benchLogger() });
  let peak = 0;
  let peakDuringDrain = 0;
  let draining = false;
  let samples = 0;
  let atPeak: NodeJS.MemoryUsage | undefined;
  let rssParts: Record<string, number> = {};
  const sample = () => {
    const rss = process.memoryUsage.rss();
    samples++;
    if (rss > peak) {
      atPeak = process.memoryUsage();
      rssParts = rssBreakdown();
    }
    peak = Math.max(peak, rss);
    if (draining) peakDuringDrain = Math.max(peakDuringDrain, rss);
  };
  sample();
  const rssAtReady = process.memoryUsage.rss();
  const timer = setInterval(sample, 50);
  agent.uplink.on('connect', () => {
    draining = true;
    process.send?.({ kind: 'connected', t: wallNow() });
  });
  process.send?.({ kind: 'ready' });
  process.on('message', (m) => {
    if (m !== 'stop') return;
    sample();
    clearInterval(timer);
    (globalThis as { gc?: () => void }).gc?.();
    const afterGc = process.memoryUsage();
    const stats: ChildStats = {
      kind: 'stats',
      rssAtReady,
      peakRss: peak,
      peakRssDuringDrain: peakDuringDrain,
      samples,
      atPeak,
      afterGc,
      rssParts,
    };
    agent.stop('bench done').finally(() => {
      process.send?.(stats, () => process.exit(0));
    });
  });
}

/** Child: the raw publisher. */
async function childRaw(url: string, n: number): Promise<void> {
  const template = JSON.stringify({ ...benchEvent(0, 'drain-raw'), id: 'X'.repeat(36), seq: 'SEQ' });
  const [head, rest] = template.split('X'.repeat(36)) as [string, string];
  const [mid, tail] = rest.split('"SEQ"') as [string, string];
  const id = idMaker();
  const topic = `wardgate/v1/drain-raw/events/panic-button/${DEVICE}`;
  const r = await mqttWindowedPublish(url, n, WINDOW, (i) => ({
    topic,
    payload: head + id(i) + mid + String(i + 1) + tail,
    opts: laneOpts('normal', i + 1, 86_400),
  }));
  process.send?.({ kind: 'published', ...r }, () => process.exit(0));
}

export async function drain() {
  const quick = flag('quick');
  const profileDir = optionString('cpu-prof-dir');
  if (flag('profile-run')) {
    const run = await drainAgent(option('n', 100_000), profileDir);
    return result('drain-profile', 'Drain under --cpu-prof', { n: run.n }, [], { run });
  }
  const sizes =
    optionString('sizes')?.split(',').map(Number) ?? (quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000]);
  const runs: Array<{ agent: DrainRun; raw: DrainRun }> = [];
  const problems: string[] = [];
  const checks: Check[] = [];
  for (const n of sizes) {
    process.stderr.write(`[bench] drain: ${n} events\n`);
    const agent = await drainAgent(n, undefined);
    const raw = await drainRaw(n);
    runs.push({ agent, raw });
    if (agent.delivered < n) problems.push(`agent drain of ${n}: subscriber got ${agent.delivered}`);
    if (raw.delivered < n) problems.push(`raw publish of ${n}: subscriber got ${raw.delivered}`);
    const ratio = agent.msgsPerSec / raw.msgsPerSec;
    checks.push({
      what: `drain ${n.toLocaleString('en')} backlog`,
      value: Math.round(agent.msgsPerSec),
      unit: 'msgs/s',
      floor: Math.round(raw.msgsPerSec),
      floorWhat: `raw mqtt.js QoS1, ${WINDOW} in flight`,
      ratio: round(ratio, 2),
      target: '≥ 0.80× floor',
      pass: ratio >= 0.8,
    });
    checks.push({
      what: `peak RSS draining ${n.toLocaleString('en')}`,
      value: round((agent.rss?.peakRss ?? 0) / MiB, 1),
      unit: 'MiB',
      target: '—',
      pass: null,
    });
  }
  const first = runs[0]?.agent.rss?.peakRss ?? 0;
  const last = runs.at(-1);
  if (last && runs.length > 1) {
    const growth = ((last.agent.rss?.peakRss ?? 0) - first) / MiB;
    checks.push({
      what: `peak RSS ${last.agent.n.toLocaleString('en')} − 10,000`,
      value: round(growth, 1),
      unit: 'MiB',
      target: last.agent.n >= 1_000_000 ? '≤ 10 MiB' : '≤ 10 MiB (target is at 1M)',
      pass: growth <= 10,
    });
    // What the RSS growth is made of: heap still referenced after a full GC (per-row retention).
    const kept = (r: DrainRun) => r.rss?.afterGc?.heapUsed ?? 0;
    const firstRun = runs[0]?.agent;
    if (firstRun) {
      checks.push({
        what: `heap retained after drain + full GC, ${last.agent.n.toLocaleString('en')} − 10,000`,
        value: round((kept(last.agent) - kept(firstRun)) / MiB, 1),
        unit: 'MiB',
        target: '—',
        pass: null,
      });
    }
  }
  return result('drain', 'Backlog drain after an outage', { sizes, window: WINDOW }, checks, { runs }, problems);
}

if (isMain(import.meta.url)) {
  const i = process.argv.indexOf('--child-agent');
  const j = process.argv.indexOf('--child-raw');
  if (i >= 0) void childAgent(process.argv[i + 1] as string, process.argv[i + 2] as string);
  else if (j >= 0) void childRaw(process.argv[j + 1] as string, Number(process.argv[j + 2]));
  else runMain(drain);
}
