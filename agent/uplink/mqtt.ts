// The broker connection: mqtt.js with our own connect loop, because wardgate decides failover
// order, backoff and protocol fallback, and keeps durability in the outbox, not in mqtt.js's
// in-memory queue. MQTT 5 is preferred; a broker that refuses it is spoken to in 3.1.1 for that
// connection only, and every new connection tries 5 again (issue 7: a downgrade used to stick).
// When to retry and what to call a failure: connect-policy.ts; what the broker may send: inbound-guard.ts.
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { errorMessage, WardgateError } from '../errors.js';
import { type ConnectionSettings, type PublishOptions, publishOptions } from './client-options.js';
import { ConnectPolicy, TAKEOVER_HINT } from './connect-policy.js';
import { openConnection } from './connection.js';
import { endGracefully, probeTcp, redactUrl, within } from './net.js';
import { UplinkReport, type UplinkStats } from './report.js';

export type { PublishOptions } from './client-options.js';
export { redactUrl } from './net.js';
export type { UplinkStats } from './report.js';

export interface UplinkOptions extends ConnectionSettings {
  brokers: string[];
  protocol: 'auto' | '5' | '3.1.1';
  /**
   * stableMs: a connection up this long resets the backoff (default 30 s); takeoverMs: the delay
   * while another client holds our session (default 30 s).
   */
  backoff: { minMs: number; maxMs: number; stableMs?: number; takeoverMs?: number };
  /** The retained status to leave on a broker this uplink leaves on purpose (fail-back). */
  offlineStatus?: (reason: string) => string;
  /** On a later broker in the list, probe the first every this many seconds and return to it (0: never). */
  failbackSec?: number;
  /** Topics the agent subscribed to; a publish on any other is refused. */
  accepts?: (topic: string) => boolean;
  /** Subscribed (QoS 1) after every CONNACK: the clean session forgets it (`{prefix}/{gw}/cmd/#`). */
  subscribe?: string;
  log: Logger;
}

interface UplinkEvents {
  connect: [info: { url: string; protocolVersion: 4 | 5 }];
  disconnect: [err: Error | undefined];
  message: [topic: string, payload: Buffer];
}

/** Of a stop's budget, kept for the DISCONNECT itself after waiting for late PUBACKs. */
const END_RESERVE_MS = 500;

export class Uplink extends EventEmitter<UplinkEvents> {
  private client: MqttClient | undefined;
  private generation = 0;
  private brokerIndex = 0;
  /** The broker just refused MQTT 5: the next attempt (only) speaks 3.1.1. */
  private fallbackNext = false;
  private readonly policy: ConnectPolicy;
  private retryTimer: NodeJS.Timeout | undefined;
  private failbackTimer: NodeJS.Timeout | undefined;
  private stopped = true;
  private readonly report: UplinkReport;
  private unacked = 0;
  private onSettled: (() => void) | undefined;
  url: string | undefined;
  protocolVersion: 4 | 5 | undefined;
  constructor(private readonly opts: UplinkOptions) {
    super();
    this.policy = new ConnectPolicy({ ...opts.backoff, stableMs: opts.backoff.stableMs ?? 30_000 }, (was) =>
      this.guard('stable', () => this.report.stable(was, this.url && redactUrl(this.url))),
    );
    this.report = new UplinkReport(this.policy, opts.log);
  }

  get stats(): UplinkStats {
    return this.report.stats;
  }

  get connected(): boolean {
    return this.client?.connected === true && this.url !== undefined;
  }

  /** Publishes sent and not yet acknowledged (or failed). */
  get unackedCount(): number {
    return this.unacked;
  }

  start(): void {
    this.stopped = false;
    this.attempt();
  }

  /**
   * Live reload of the `mqtt` section (issue 12): end this connection (late PUBACKs still settle
   * within the budget; unacknowledged rows stay in the outbox and go again), then connect with
   * the new options from the first broker.
   */
  async reconnectWith(opts: Partial<UplinkOptions>, budgetMs = 2000): Promise<void> {
    await this.stop([], budgetMs);
    Object.assign(this.opts, opts);
    this.brokerIndex = 0;
    this.start();
  }

  /** Every handler of ours runs behind this: no broker event may become an uncaught exception. */
  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.log.error({ err, code: 'WG_ERR_UPLINK_HANDLER', handler: what }, 'uplink event handler failed');
    }
  }

  /** Our own events, each listener behind its own boundary (one failing must not skip the next). */
  private notify<K extends keyof UplinkEvents>(event: K, ...args: UplinkEvents[K]): void {
    for (const l of this.listeners(event)) this.guard(event, () => (l as (...a: UplinkEvents[K]) => void)(...args));
  }

  private attempt(): void {
    if (this.stopped) return;
    const url = this.opts.brokers[this.brokerIndex] as string;
    const protocolVersion: 4 | 5 =
      this.opts.protocol === '3.1.1' || (this.opts.protocol === 'auto' && this.fallbackNext) ? 4 : 5;
    this.fallbackNext = false;
    const gen = ++this.generation;
    const accepts = this.opts.accepts ?? (() => false);
    const live = (what: string, fn: () => void) => {
      if (gen === this.generation) this.guard(what, fn);
    };
    const client = openConnection(url, protocolVersion, this.opts, accepts, this.stats.inbound, {
      live,
      connack: () => {
        this.url = url;
        this.protocolVersion = protocolVersion;
        this.stats.connects++;
        this.stats.lastConnectedAt = Date.now();
        this.policy.connected();
        if (!this.policy.takenOver) this.report.setError(null);
        const obj = { url: redactUrl(url), protocolVersion };
        this.report.log1(url, 'up', 'info', obj, 'broker connected');
        if (protocolVersion === 5) this.report.forget(`v5:${url}`);
        if (this.opts.subscribe) this.subscribe(client, this.opts.subscribe);
        this.notify('connect', { url, protocolVersion });
        if (this.brokerIndex > 0) this.watchPrimary(gen);
      },
      message: (topic, payload) => this.notify('message', topic, payload),
      end: (e) => {
        if (e.refusedV5 && this.opts.protocol === 'auto') {
          const obj = { url: redactUrl(url), reason: e.reason };
          this.report.log1(`v5:${url}`, 'refused', 'warn', obj, 'broker refused MQTT 5: trying 3.1.1 this time');
          this.fallbackNext = true;
          this.teardown(client);
          this.retryTimer = setTimeout(() => this.attempt(), 0);
          return;
        }
        this.onDown(client, url, e.connected, e.reason, e.takenOver, e.explained);
      },
    });
    this.client = client;
  }

  private subscribe(client: MqttClient, filter: string): void {
    client.subscribe(filter, { qos: 1 }, (err, granted) => {
      const code = granted?.[0]?.qos;
      if (err || code === undefined || code >= 0x80)
        this.opts.log.error({ code: 'WG_ERR_COMMANDS_SUBSCRIBE', filter, err, reasonCode: code }, 'subscribe refused');
    });
  }

  private onDown(
    client: MqttClient,
    url: string,
    wasConnected: boolean,
    reason: string,
    takenOver: boolean,
    explained: boolean,
  ): void {
    this.teardown(client);
    let delay: number;
    if (wasConnected) {
      this.stats.disconnects++;
      this.stats.lastDisconnectedAt = Date.now();
      this.url = undefined;
      delay = this.policy.dropped(takenOver, explained);
      const quick = this.policy.quickDropsInRow;
      if (!takenOver && this.policy.takenOver && quick >= 2)
        reason += `; ${quick} connections in a row ended within seconds`;
      this.report.setError(reason);
      const obj = { url: redactUrl(url), reason, code: this.stats.lastErrorCode, retryInMs: delay };
      if (this.policy.takenOver)
        this.report.log1(url, 'takeover', 'error', { ...obj, hint: TAKEOVER_HINT }, 'session taken over');
      else this.report.log1(url, `lost:${reason}`, 'warn', obj, 'broker connection lost');
      this.notify('disconnect', new WardgateError(this.stats.lastErrorCode ?? 'WG_ERR_UPLINK_CONNECT', reason));
    } else {
      this.stats.connectFailures++;
      delay = this.policy.failed();
      this.report.setError(reason);
      this.report.log1(
        url,
        `fail:${reason}`,
        'warn',
        { url: redactUrl(url), reason, code: this.stats.lastErrorCode, hint: this.stats.hint, retryInMs: delay },
        'broker connection failed',
      );
      // Fail over in order: the next broker in the list, wrapping round.
      this.brokerIndex = (this.brokerIndex + 1) % this.opts.brokers.length;
    }
    if (this.stopped) return;
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
      void probeTcp(primary, 2000).then((up) =>
        this.guard('failback probe', () => {
          if (gen !== this.generation || this.stopped) return;
          if (up)
            this.failback(gen).catch((err) =>
              this.opts.log.error({ err, code: 'WG_ERR_UPLINK_HANDLER', handler: 'failback' }, 'fail-back failed'),
            );
          else this.failbackTimer = setTimeout(tick, every);
        }),
      );
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
      const sent = this.publish(this.opts.will.topic, this.opts.offlineStatus('failback'), { retain: true });
      await within(sent, 2000);
    }
    if (gen !== this.generation) return;
    this.generation++;
    if (this.client === client) this.client = undefined;
    void endGracefully(client, 2000);
    this.url = undefined;
    this.stats.disconnects++;
    this.stats.lastDisconnectedAt = Date.now();
    this.policy.stop(); // leaving on purpose: not a drop, and the next connect is not delayed
    this.notify('disconnect', new WardgateError('WG_ERR_UPLINK_CONNECT', 'failing back to the first broker'));
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
    return new Promise<void>((resolve, reject) =>
      this.send(topic, payload, opts, (err) => (err ? reject(err) : resolve())),
    );
  }

  /**
   * publish() without a promise (the drain's path: one closure per message, not four): `done` is
   * called once, with nothing on PUBACK, or with a WG_ERR_UPLINK_PUBLISH error (not connected,
   * the connection dropped first, or the broker refused it: the reason code is on its cause).
   */
  send(topic: string, payload: string | Buffer, opts: PublishOptions, done: (err?: WardgateError) => void): void {
    const client = this.client;
    if (!client || !this.connected) {
      done(new WardgateError('WG_ERR_UPLINK_PUBLISH', 'not connected'));
      return;
    }
    const pubOpts = publishOptions(this.protocolVersion ?? 4, opts);
    this.stats.published++;
    this.unacked++;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      this.unacked--;
      if (this.unacked === 0) this.onSettled?.();
      if (err) done(new WardgateError('WG_ERR_UPLINK_PUBLISH', errorMessage(err), { cause: err }));
      else {
        this.stats.acked++;
        done();
      }
    };
    try {
      client.publish(topic, payload, pubOpts, finish);
    } catch (err) {
      finish(err instanceof Error ? err : new Error(String(err))); // mqtt.js validates synchronously
    }
  }

  /**
   * Put what was just published on the wire now. mqtt-packet corks the socket per packet and
   * uncorks on the next tick, which runs only after every promise callback queued meanwhile (the
   * HTTP reply to the press, the page's listeners): an alarm's packet must not wait behind them.
   */
  flushWrites(): void {
    const stream = this.client?.stream as Socket | undefined;
    if (!stream?.uncork) return;
    while (stream.writableCorked > 0) stream.uncork();
  }

  /**
   * Publish the final messages (offline status), let late PUBACKs arrive (each deletes its row,
   * so a restart does not resend them), then close without triggering the will — all within
   * `budgetMs`, whatever the broker does.
   */
  async stop(final: Array<{ topic: string; payload: string; retain: boolean }> = [], budgetMs = 2000): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.failbackTimer) clearTimeout(this.failbackTimer);
    this.policy.stop();
    const client = this.client;
    if (!client) return;
    const deadline = Date.now() + budgetMs;
    if (this.connected) for (const m of final) this.publish(m.topic, m.payload, { retain: m.retain }).catch(() => {});
    if (this.unacked > 0 && this.connected) {
      const settled = new Promise<void>((resolve) => {
        this.onSettled = resolve;
      });
      await within(settled, deadline - Date.now() - END_RESERVE_MS);
      this.onSettled = undefined;
    }
    this.generation++;
    this.client = undefined;
    this.url = undefined;
    await endGracefully(client, Math.max(100, deadline - Date.now()));
  }
}
