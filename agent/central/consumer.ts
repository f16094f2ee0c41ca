// The central consumer (issue 15): subscribe to a site's gateways with a persistent MQTT 5 session,
// and hand the application each event once, in order per gateway and lane, with every gap
// classified and every gateway's presence. The console (watch-cli.ts) is one application of it;
// an integrator embeds it the same way:
//
//   const c = new CentralConsumer({ broker: 'mqtts://…', clientId: 'control-room-1',
//     stateDir: '/var/lib/control-room', onRecord: (r) => { if (r.kind === 'event') … } });
//   await c.start();
//
// `onRecord` runs synchronously before the message is acknowledged to the broker: do the durable
// thing there (or accept that a kill may repeat the last record, flagged `possibleDuplicate`).
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { quietClient } from '../uplink/client-options.js';
import { Journal } from './journal.js';
import { type GatewayPresence, Presence } from './presence.js';
import { type CentralEvent, type SeqOutput, Sequencer, type SequencerOptions } from './sequencer.js';
import { globToRegExp, parseTopic } from './topics.js';

export type ConsumerRecord =
  | SeqOutput
  | GatewayPresence
  | { kind: 'cmd-result'; gateway: string; device: string; result: Record<string, unknown> }
  | { kind: 'invalid'; topic: string; error: string }
  | { kind: 'consumer'; state: 'connected' | 'disconnected'; sessionPresent?: boolean; error?: string };

export interface ConsumerOptions {
  broker: string;
  clientId: string;
  prefix?: string;
  /** MQTT 5 shared subscription group for events (`$share/{group}/…`). */
  share?: string;
  /** The broker pins each gateway to one member (EMQX `hash_clientid`): full gap accounting. */
  pinned?: boolean;
  /** Glob on gateway ids (`ward-*`); client-side, MQTT wildcards cannot glob. */
  gateways?: string;
  site?: string;
  tls?: { ca?: string; cert?: string; key?: string };
  username?: string;
  password?: string;
  /** Where the journal lives (dedup and ordering state across restarts); none: memory only. */
  stateDir?: string;
  /** How long the broker keeps the session while the consumer is away (default 7 days). */
  sessionExpirySec?: number;
  /** `health` older than this marks a gateway stale (default 90 s: three default mqtt.healthIntervalSec). */
  healthStaleSec?: number;
  sequencer?: Partial<SequencerOptions>;
  onRecord: (r: ConsumerRecord) => void;
}

export class CentralConsumer {
  readonly prefix: string;
  readonly sequencer: Sequencer;
  readonly presence: Presence;
  client: MqttClient | undefined;
  private journal: Journal | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly gwFilter: RegExp | undefined;

  constructor(readonly opts: ConsumerOptions) {
    this.prefix = opts.prefix ?? 'wardgate/v1';
    const partial = opts.share !== undefined && !opts.pinned;
    this.sequencer = new Sequencer({ ...opts.sequencer, partial });
    this.presence = new Presence((opts.healthStaleSec ?? 90) * 1000);
    this.gwFilter = opts.gateways ? globToRegExp(opts.gateways) : undefined;
  }

  /** Topic filters: events shared when a group is set; status/health/cmd-result never (every member needs them, and shared subscriptions get no retained messages). */
  subscriptions(): string[] {
    const p = this.prefix;
    const events = `${p}/+/events/#`;
    return [
      this.opts.share ? `$share/${this.opts.share}/${events}` : events,
      `${p}/+/status`,
      `${p}/+/health`,
      `${p}/+/cmd-result/+`,
    ];
  }

  async start(): Promise<void> {
    if (this.opts.stateDir) {
      this.journal = new Journal(this.opts.stateDir, safeName(this.opts.clientId));
      this.journal.load(this.sequencer);
    }
    const o = this.opts;
    const options: IClientOptions = {
      clientId: o.clientId,
      protocolVersion: 5,
      // A persistent session: the broker queues QoS 1 events while the consumer is away.
      clean: false,
      properties: { sessionExpiryInterval: o.sessionExpirySec ?? 7 * 86_400 },
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      // Not writeCache: false. The central process can spare mqtt-packet's 6 MiB table, and
      // turning it off there (a global switch) left 8 MiB more heap in the consumer bench.
      ...quietClient(),
      ...(o.username !== undefined ? { username: o.username } : {}),
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.tls?.ca ? { ca: readFileSync(o.tls.ca) } : {}),
      ...(o.tls?.cert ? { cert: readFileSync(o.tls.cert) } : {}),
      ...(o.tls?.key ? { key: readFileSync(o.tls.key) } : {}),
    };
    const client = mqtt.connect(o.broker, options);
    this.client = client;
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.dup === true));
    client.on('connect', (ack) => {
      // Subscribing again on a present session is harmless and covers a broker that lost it.
      // "connected" is said once the broker acknowledged the subscriptions: from then on every
      // event reaches this console (said at the CONNACK, a press right after could be missed).
      client.subscribe(this.subscriptions(), { qos: 1 }, (err) => {
        if (err) o.onRecord({ kind: 'consumer', state: 'disconnected', error: err.message });
        else o.onRecord({ kind: 'consumer', state: 'connected', sessionPresent: ack.sessionPresent });
      });
    });
    client.on('close', () => o.onRecord({ kind: 'consumer', state: 'disconnected' }));
    client.on('error', (err) => o.onRecord({ kind: 'consumer', state: 'disconnected', error: err.message }));
    const every = Math.max(20, Math.min(250, (this.sequencer.opts.maxWaitMs / 4) | 0));
    this.timer = setInterval(() => this.tick(), every);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no CONNACK from ${o.broker} within 15 s`)), 15_000);
      client.once('connect', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private tick(): void {
    const now = Date.now();
    for (const p of this.presence.check(now)) this.opts.onRecord(p);
    if (this.sequencer.idle()) return;
    for (const r of this.sequencer.tick(now)) this.opts.onRecord(r);
    this.journal?.tick(now, this.sequencer);
    if (!this.corked) this.journal?.flush();
  }

  private corked: { uncork(): void } | undefined;

  /**
   * One journal write per burst, not per message, and still before the PUBACKs: mqtt.js writes
   * each PUBACK to the socket right after the 'message' handler returns, so the socket is corked
   * at the first message of a burst and uncorked only after the journal lines are written (in
   * setImmediate, once the burst's packets have been handled). A kill before that loses both the
   * lines and the PUBACKs: the broker sends the messages again.
   */
  private holdAcks(): void {
    if (this.corked || !this.journal) return;
    const stream = this.client?.stream as unknown as { cork?(): void; uncork(): void } | undefined;
    if (!stream?.cork) return;
    stream.cork();
    this.corked = stream;
    setImmediate(() => {
      this.journal?.flush();
      this.corked = undefined;
      stream.uncork();
    });
  }

  private onMessage(topic: string, payload: Buffer, dup: boolean): void {
    const t = parseTopic(this.prefix, topic);
    if (!t || (this.gwFilter && !this.gwFilter.test(t.gateway))) return;
    const text = payload.toString('utf8');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
      if (!body || typeof body !== 'object') throw new Error('not a JSON object');
    } catch (err) {
      this.opts.onRecord({ kind: 'invalid', topic, error: (err as Error).message });
      return;
    }
    if (this.opts.site && typeof body.site === 'string' && body.site !== this.opts.site) return;
    const now = Date.now();
    switch (t.kind) {
      case 'event': {
        this.holdAcks();
        const problem = eventProblem(body, t.gateway);
        if (problem) {
          this.opts.onRecord({ kind: 'invalid', topic, error: problem });
          return;
        }
        for (const r of this.sequencer.receive(body as CentralEvent, now, dup)) this.opts.onRecord(r);
        this.journal?.record(now, body as CentralEvent, text, this.sequencer);
        return;
      }
      case 'status':
      case 'health':
        for (const p of this.presence.update(t.gateway, t.kind, body, now)) this.opts.onRecord(p);
        return;
      case 'cmd-result':
        this.opts.onRecord({ kind: 'cmd-result', gateway: t.gateway, device: t.device ?? '', result: body });
        return;
    }
  }

  /** Publishes on the consumer's own connection (the acknowledge path). */
  async publish(topic: string, payload: string): Promise<void> {
    if (!this.client) throw new Error('consumer not started');
    await this.client.publishAsync(topic, payload, { qos: 1 });
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.journal?.flush();
    await this.client?.endAsync().catch(() => undefined);
    // Held events stay held (in the snapshot): the next start releases them in order.
    this.journal?.close(this.sequencer);
  }
}

function eventProblem(b: Record<string, unknown>, gateway: string): string | undefined {
  if (typeof b.id !== 'string' || b.id.length === 0) return 'event without an id';
  if (typeof b.seq !== 'number' || !Number.isSafeInteger(b.seq) || b.seq < 1)
    return 'event without a positive integer seq';
  if (b.gateway !== gateway) return `event of gateway ${String(b.gateway)} on ${gateway}'s topic`;
  if (typeof b.severity !== 'string' || typeof b.type !== 'string') return 'event without severity or type';
  return undefined;
}

const safeName = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');
