// The broker connection: mqtt.js with our own connect loop, because wardgate decides failover
// order, backoff and protocol fallback, and keeps durability in the outbox, not in mqtt.js's
// in-memory queue. MQTT 5 is preferred; a broker that refuses it is spoken to in 3.1.1.
import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { errorMessage, WardgateError } from '../errors.js';
import { Backoff } from './backoff.js';

export interface UplinkOptions {
  brokers: string[];
  protocol: 'auto' | '5' | '3.1.1';
  clientId: string;
  username?: string;
  password?: string;
  keepaliveSec: number;
  connectTimeoutMs: number;
  backoff: { minMs: number; maxMs: number };
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean; servername?: string };
  will: { topic: string; payload: string };
  /** The retained status to leave on a broker this uplink leaves on purpose (fail-back). */
  offlineStatus?: (reason: string) => string;
  /** On a later broker in the list, probe the first every this many seconds and return to it (0: never). */
  failbackSec?: number;
  log: Logger;
}

export interface PublishOptions {
  retain?: boolean;
  /** MQTT 5 only: message expiry and user properties (severity, type). */
  expirySec?: number;
  userProperties?: Record<string, string>;
}

export interface UplinkStats {
  connects: number;
  connectFailures: number;
  disconnects: number;
  published: number;
  acked: number;
  lastConnectedAt: number | null;
  lastDisconnectedAt: number | null;
  lastError: string | null;
}

interface UplinkEvents {
  connect: [info: { url: string; protocolVersion: 4 | 5 }];
  disconnect: [err: Error | undefined];
}

/** CONNACK codes meaning "I do not speak this protocol version" (3.1.1: 1, MQTT 5: 0x84). */
const PROTOCOL_REFUSED = new Set([1, 0x84]);

export class Uplink extends EventEmitter<UplinkEvents> {
  private client: MqttClient | undefined;
  private generation = 0;
  private brokerIndex = 0;
  private readonly v311Only = new Set<string>();
  private readonly backoff: Backoff;
  private retryTimer: NodeJS.Timeout | undefined;
  private failbackTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  url: string | undefined;
  protocolVersion: 4 | 5 | undefined;
  readonly stats: UplinkStats = {
    connects: 0,
    connectFailures: 0,
    disconnects: 0,
    published: 0,
    acked: 0,
    lastConnectedAt: null,
    lastDisconnectedAt: null,
    lastError: null,
  };

  constructor(private readonly opts: UplinkOptions) {
    super();
    this.backoff = new Backoff(opts.backoff);
  }

  get connected(): boolean {
    return this.client?.connected === true && this.url !== undefined;
  }

  start(): void {
    this.stopped = false;
    this.attempt();
  }

  private versionFor(url: string): 4 | 5 {
    if (this.opts.protocol === '3.1.1' || this.v311Only.has(url)) return 4;
    return 5;
  }

  private attempt(): void {
    if (this.stopped) return;
    const url = this.opts.brokers[this.brokerIndex] as string;
    const protocolVersion = this.versionFor(url);
    const gen = ++this.generation;
    const { log } = this.opts;
    const options: IClientOptions = {
      clientId: this.opts.clientId,
      protocolVersion,
      clean: true,
      keepalive: this.opts.keepaliveSec,
      connectTimeout: this.opts.connectTimeoutMs,
      reconnectPeriod: 0, // our loop decides: failover order, backoff with jitter
      queueQoSZero: false,
      resubscribe: false,
      will: { topic: this.opts.will.topic, payload: Buffer.from(this.opts.will.payload), qos: 1, retain: true },
      ...(this.opts.username !== undefined ? { username: this.opts.username } : {}),
      ...(this.opts.password !== undefined ? { password: this.opts.password } : {}),
      ...(this.opts.tls ?? {}),
    };
    let gotConnack = false;
    let socketOpened = false;
    let refusedV5 = false;
    const client = mqtt.connect(url, options);
    this.client = client;
    const stream = client.stream as Socket | undefined;
    stream?.once?.('connect', () => {
      socketOpened = true;
      stream.setNoDelay?.(true); // alarms are small packets: never wait for Nagle
    });
    client.on('connect', () => {
      if (gen !== this.generation) return;
      gotConnack = true;
      this.url = url;
      this.protocolVersion = protocolVersion;
      this.stats.connects++;
      this.stats.lastConnectedAt = Date.now();
      this.stats.lastError = null;
      this.backoff.reset();
      log.info({ url: redactUrl(url), protocolVersion }, 'broker connected');
      this.emit('connect', { url, protocolVersion });
      if (this.brokerIndex > 0) this.watchPrimary(gen);
    });
    client.on('error', (err) => {
      if (gen !== this.generation) return;
      this.stats.lastError = errorMessage(err);
      const code = (err as { code?: unknown }).code;
      if (
        !gotConnack &&
        protocolVersion === 5 &&
        this.opts.protocol === 'auto' &&
        typeof code === 'number' &&
        PROTOCOL_REFUSED.has(code)
      ) {
        refusedV5 = true;
      }
    });
    client.on('close', () => {
      if (gen !== this.generation) return;
      // aedes and other 3.1.1-only brokers may just drop a v5 CONNECT without a CONNACK.
      if (!gotConnack && (socketOpened || refusedV5) && protocolVersion === 5 && this.opts.protocol === 'auto') {
        log.warn({ url: redactUrl(url), refused: refusedV5 }, 'broker did not accept MQTT 5; trying 3.1.1');
        this.v311Only.add(url);
        this.teardown(client);
        this.retryTimer = setTimeout(() => this.attempt(), 0);
        return;
      }
      this.onDown(client, gotConnack);
    });
  }

  private onDown(client: MqttClient, wasConnected: boolean): void {
    this.teardown(client);
    if (wasConnected) {
      this.stats.disconnects++;
      this.stats.lastDisconnectedAt = Date.now();
      this.url = undefined;
      this.opts.log.warn({ err: this.stats.lastError }, 'broker connection lost');
      this.emit('disconnect', new WardgateError('WG_ERR_UPLINK_CONNECT', this.stats.lastError ?? 'connection closed'));
    } else {
      this.stats.connectFailures++;
      // Fail over in order: the next broker in the list, wrapping round.
      this.brokerIndex = (this.brokerIndex + 1) % this.opts.brokers.length;
    }
    if (this.stopped) return;
    const delay = wasConnected ? 0 : this.backoff.next();
    this.retryTimer = setTimeout(() => this.attempt(), delay);
  }

  /** While on a fallback broker, probe the first one; when it answers TCP again, go back to it. */
  private watchPrimary(gen: number): void {
    const every = (this.opts.failbackSec ?? 300) * 1000;
    if (every <= 0 || this.opts.brokers.length < 2) return;
    const primary = this.opts.brokers[0] as string;
    const tick = () => {
      this.failbackTimer = undefined;
      if (gen !== this.generation || this.stopped) return;
      void probeTcp(primary, 2000).then((up) => {
        if (gen !== this.generation || this.stopped) return;
        if (up) void this.failback(gen);
        else this.failbackTimer = setTimeout(tick, every);
      });
    };
    this.failbackTimer = setTimeout(tick, every);
  }

  private async failback(gen: number): Promise<void> {
    const client = this.client;
    if (!client || gen !== this.generation) return;
    this.opts.log.info(
      { from: this.url && redactUrl(this.url), to: redactUrl(this.opts.brokers[0] as string) },
      'first broker reachable again: failing back',
    );
    if (this.opts.offlineStatus) {
      // Leave the fallback broker's retained status truthful: this gateway is no longer there.
      const sent = this.publish(this.opts.will.topic, this.opts.offlineStatus('failback'), { retain: true }).catch(
        () => undefined,
      );
      await Promise.race([sent, new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    if (gen !== this.generation) return;
    this.generation++;
    client.removeAllListeners();
    client.on('error', () => {});
    client.end(false); // a clean DISCONNECT: no will
    if (this.client === client) this.client = undefined;
    this.url = undefined;
    this.stats.disconnects++;
    this.stats.lastDisconnectedAt = Date.now();
    this.emit('disconnect', new WardgateError('WG_ERR_UPLINK_CONNECT', 'failing back to the first broker'));
    this.brokerIndex = 0;
    if (!this.stopped) this.attempt();
  }

  private teardown(client: MqttClient): void {
    if (this.failbackTimer) clearTimeout(this.failbackTimer);
    this.failbackTimer = undefined;
    this.generation++;
    client.removeAllListeners();
    client.on('error', () => {}); // a late socket error on a discarded client must not crash the agent
    client.end(true);
    if (this.client === client) this.client = undefined;
  }

  /** Run `fn`'s publishes as one socket write (one writev instead of one syscall per packet). */
  batch(fn: () => void): void {
    const stream = this.client?.stream as Socket | undefined;
    stream?.cork?.();
    try {
      fn();
    } finally {
      if (stream?.uncork) process.nextTick(() => stream.uncork());
    }
  }

  /** Resolves on PUBACK; rejects if not connected or the connection drops first. */
  publish(topic: string, payload: string | Buffer, opts: PublishOptions = {}): Promise<void> {
    const client = this.client;
    if (!client || !this.connected) return Promise.reject(new WardgateError('WG_ERR_UPLINK_PUBLISH', 'not connected'));
    const pubOpts: IClientPublishOptions = { qos: 1, retain: opts.retain ?? false };
    if (this.protocolVersion === 5 && (opts.expirySec || opts.userProperties)) {
      pubOpts.properties = {
        ...(opts.expirySec ? { messageExpiryInterval: opts.expirySec } : {}),
        ...(opts.userProperties ? { userProperties: opts.userProperties } : {}),
      };
    }
    this.stats.published++;
    return new Promise<void>((resolve, reject) => {
      client.publish(topic, payload, pubOpts, (err) => {
        if (err) reject(new WardgateError('WG_ERR_UPLINK_PUBLISH', errorMessage(err), { cause: err }));
        else {
          this.stats.acked++;
          resolve();
        }
      });
    });
  }

  /** Publish the final messages (offline status), then close without triggering the will. */
  async stop(final: Array<{ topic: string; payload: string; retain: boolean }> = [], timeoutMs = 2000): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.failbackTimer) clearTimeout(this.failbackTimer);
    const client = this.client;
    if (!client) return;
    if (this.connected) {
      const sends = final.map((m) => this.publish(m.topic, m.payload, { retain: m.retain }).catch(() => undefined));
      await Promise.race([Promise.all(sends), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    }
    this.generation++;
    client.removeAllListeners();
    client.on('error', () => {});
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
    this.client = undefined;
    this.url = undefined;
  }
}

export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** Does anything accept a TCP connection at this broker URL's host and port? */
export function probeTcp(url: string, timeoutMs: number): Promise<boolean> {
  const u = new URL(url);
  const defaults: Record<string, number> = {
    'mqtt:': 1883,
    'tcp:': 1883,
    'mqtts:': 8883,
    'tls:': 8883,
    'ssl:': 8883,
    'ws:': 80,
    'wss:': 443,
  };
  const port = u.port ? Number(u.port) : (defaults[u.protocol] ?? 1883);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}
