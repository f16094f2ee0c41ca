// Drains the outbox through the uplink: critical lane first, by seq within a lane, at most
// `window` unacknowledged publishes; a row is deleted only on its PUBACK. On reconnect everything
// unacknowledged is sent again (duplicates by id are possible, loss is not). A publish the broker
// refuses (MQTT 5 PUBACK >= 0x80) frees its slot at once: permanent refusals are kept and retried
// on a slow schedule and on reconnect, behind everything the broker takes; "retry later" ones
// (quota, busy) hold their lane briefly (agent/outbox/refused.ts).
import type { Logger } from 'pino';
import { bootId, restamp } from '../clock.js';
import type { WgEvent } from '../event.js';
import type { PublishOptions } from '../uplink/mqtt.js';
import { reasonCodeOf, refusalKind } from './refused.js';
import type { Outbox, OutboxRow } from './store.js';
import { type AlarmTimeline, PICKUP, PUBLISH } from './timeline.js';

export interface DrainTarget {
  readonly connected: boolean;
  publish(topic: string, payload: string, opts?: PublishOptions): Promise<void>;
  /** Optional: publish() with a callback instead of a promise (less garbage per message). */
  send?(topic: string, payload: string, opts: PublishOptions, done: (err?: Error) => void): void;
  /** Optional: coalesce the publishes made inside `fn` into one write. */
  batch?(fn: () => void): void;
  /** Optional: write what was published now, not on the next tick (an alarm was among it). */
  flushWrites?(): void;
}

export interface DrainOptions {
  window: number;
  fullTopic: (suffix: string) => string;
  clockSynced: () => boolean;
  /** Message expiry (MQTT 5) for low/normal lanes: stale telemetry is not worth delivering late. */
  telemetryExpirySec: number;
  /** Refused rows are offered again this often while connected (and at every reconnect). */
  refusedRetryMs?: number;
  /** Per-stage stamps of alarms (pick-up, publish, PUBACK). */
  timeline?: AlarmTimeline;
  log: Logger;
}

const LANE_NAMES = ['critical', 'high', 'normal', 'low'] as const;
/** A bulk commit this recent means the accept path is flooded... */
const FLOOD_RECENT_MS = 50;
/** ...and then a refill not woken by an alarm waits this long after the previous one. */
const FLOOD_REFILL_MS = 25;

export class Drain {
  private generation = 0;
  private running = false;
  private readonly laneOpts: readonly PublishOptions[];
  private pumping = false;
  private refusedTimer: NodeJS.Timeout | undefined;
  private refillAt = 0;
  private refillTimer: NodeJS.Timeout | undefined;
  /** Refills put off because the accept path was flooded. */
  yielded = 0;
  published = 0;
  restamped = 0;

  constructor(
    private readonly outbox: Outbox,
    private readonly target: DrainTarget,
    private readonly opts: DrainOptions,
  ) {
    outbox.ackBatch = Math.max(1, Math.floor(opts.window / 4));
    // One options object per lane, made once (the seq is in the payload, not a property).
    this.laneOpts = LANE_NAMES.map((severity, lane) =>
      Object.freeze({
        userProperties: { severity },
        ...(lane >= 2 && opts.telemetryExpirySec > 0 ? { expirySec: opts.telemetryExpirySec } : {}),
      }),
    );
    outbox.onAccepted((accepted) =>
      this.pump(accepted.some((e) => e.severity === 'critical' || e.severity === 'high')),
    );
  }

  /** Start (or restart after a reconnect): rewind to the oldest unacknowledged row. */
  resume(): void {
    this.generation++;
    this.outbox.rewind(); // also starts a retry round of refused rows
    this.running = true;
    if (!this.refusedTimer) {
      this.refusedTimer = setInterval(() => {
        this.outbox.retryRefused();
        this.pump();
      }, this.opts.refusedRetryMs ?? 60_000);
      this.refusedTimer.unref();
    }
    this.pump();
  }

  pause(): void {
    this.generation++;
    this.running = false;
    if (this.refusedTimer) clearInterval(this.refusedTimer);
    this.refusedTimer = undefined;
    if (this.refillTimer) clearTimeout(this.refillTimer);
    this.refillTimer = undefined;
  }

  /**
   * Graceful stop: publish nothing more, but (unlike pause) still delete the rows whose PUBACK
   * arrives late, so a restart does not resend them (issue 7). pause() ends even that.
   */
  finish(): void {
    this.running = false;
  }

  /**
   * Fill the in-flight window. Refills wait until a quarter of the window is free (one query per
   * batch, not per PUBACK), except when nothing is in flight or an alarm was just accepted.
   */
  pump(urgent = false): void {
    if (!this.running || this.pumping || !this.target.connected) return;
    this.pumping = true;
    try {
      // Acked rows count until their delete commits, so a crash never resends more than one window.
      const unsettled = this.outbox.inflightCount;
      const room = this.opts.window - unsettled;
      if (room <= 0) return;
      if (!urgent && unsettled > 0 && room < this.opts.window / 4) return;
      if (!urgent && this.yieldToFlood()) return;
      const rows = this.outbox.nextBatch(room);
      if (rows.length === 0) return;
      if (this.target.batch) this.target.batch(() => this.sendAll(rows));
      else this.sendAll(rows);
      // Critical rows come first in a batch: an alarm among them goes on the wire in this turn.
      if ((rows[0] as OutboxRow).lane <= 1) this.target.flushWrites?.();
    } finally {
      this.pumping = false;
    }
  }

  /**
   * While the accept path is flooded (bulk commits back to back), committing comes before
   * publishing: events not yet committed are only in memory, where a full queue sheds telemetry;
   * events on disk are safe and wait. So a refill not woken by an alarm comes at most every
   * FLOOD_REFILL_MS then. An alarm's commit always refills at once, and nothing is held back
   * while critical or high rows are still in the outbox (alarms queued through an outage).
   */
  private yieldToFlood(): boolean {
    const now = performance.now();
    if (now - this.outbox.lastBulkAt >= FLOOD_RECENT_MS || this.outbox.alarmRows > 0) return false;
    if (now >= this.refillAt) {
      this.refillAt = now + FLOOD_REFILL_MS;
      return false;
    }
    this.yielded++;
    if (!this.refillTimer) {
      this.refillTimer = setTimeout(() => {
        this.refillTimer = undefined;
        this.pump();
      }, this.refillAt - now);
    }
    return true;
  }

  private sendAll(rows: OutboxRow[]): void {
    for (const row of rows) this.send(row);
  }

  private payloadOf(row: OutboxRow): string {
    if (!row.unsynced || !this.opts.clockSynced()) return row.payload;
    const ev = JSON.parse(row.payload) as WgEvent;
    // Only uptime from this boot can be turned into wall time; older events go out flagged.
    if (ev.clock.bootId !== bootId()) return row.payload;
    ev.clock.originalTs = ev.ts;
    ev.ts = new Date(restamp(ev.clock.uptimeMs)).toISOString();
    ev.clock.restamped = true;
    this.restamped++;
    const payload = JSON.stringify(ev);
    // Stored, so a resend (reconnect, restart, another boot) is the same copy, not a new stamp.
    this.outbox.restamped(row.seq, payload);
    return payload;
  }

  private send(row: OutboxRow): void {
    const gen = this.generation;
    const seq = row.seq;
    const opts = this.laneOpts[row.lane] ?? {};
    const tl = row.lane <= 1 ? this.opts.timeline : undefined;
    tl?.stamp(seq, PICKUP);
    const topic = this.opts.fullTopic(row.topic);
    const payload = this.payloadOf(row);
    const done = (err?: Error) => {
      if (gen !== this.generation) return; // a stale outcome from a previous connection: resent anyway
      if (err) this.failed(seq, err);
      else {
        tl?.puback(seq);
        this.published++;
        this.outbox.ack(seq);
        this.pump();
      }
    };
    if (this.target.send) this.target.send(topic, payload, opts, done);
    else this.target.publish(topic, payload, opts).then(() => done(), done);
    tl?.stamp(seq, PUBLISH);
  }

  private failed(seq: number, err: Error): void {
    const code = reasonCodeOf(err);
    const kind = code === undefined ? undefined : refusalKind(code);
    if (kind === undefined) {
      // The connection dropped: the reconnect rewinds and resends this row.
      this.opts.log.debug({ err, seq }, 'publish not acknowledged');
      return;
    }
    if (kind === 'later') this.outbox.defer(seq, code as number);
    else this.outbox.refuse(seq, code as number);
    this.pump();
  }
}
