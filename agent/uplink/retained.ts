// Retained topics: status, per-device state, health. They are snapshots, not events: the latest
// value wins, and all of them are re-published after every reconnect (a broker restart may have
// lost them). They never go through the outbox.
import type { Logger } from 'pino';
import type { Uplink } from './mqtt.js';
import { type TopicContext, topics } from './topics.js';

/**
 * Device state changes are sent as one batch per window, this long after the first change (issue
 * 13). Sent in the turn after an alarm, a state publish met the alarm at the broker and on the
 * box's two cores while the alarm was forwarded: in paired blocks of the side-by-side press (one
 * CLI, the window toggled between blocks of 300 presses, order AB/BA, 2 × 12 rounds) the alarm
 * was faster with the window in 18 of 24 rounds at p50 and 18 at p99 (README, Performance). A
 * press and its release inside the window also go out as one publish. The state is a snapshot
 * for dashboards; the alarm is the event.
 */
export const STATE_COALESCE_MS = 20;

export class RetainedPublisher {
  private readonly states = new Map<string, unknown>();
  /** Snapshots still to take (setStateOf), at the next flush or republish. */
  private readonly makers = new Map<string, () => unknown>();
  private readonly dirty = new Set<string>();
  /** Devices removed from the config whose retained state the broker may still hold. */
  private readonly cleared = new Set<string>();
  private flushScheduled = false;

  constructor(
    private readonly uplink: Uplink,
    private readonly ctx: TopicContext,
    private readonly log: Logger,
  ) {}

  private send(topic: string, payload: unknown): void {
    if (!this.uplink.connected) return;
    let json: string;
    try {
      json = JSON.stringify(payload);
    } catch (err) {
      // A snapshot that cannot be serialised is a bug; it must not stop the next topic's publish.
      this.log.error({ err, topic, code: 'WG_ERR_UPLINK_PUBLISH' }, 'retained payload not serialisable');
      return;
    }
    this.uplink
      .publish(topic, json, { retain: true })
      .catch((err) => this.log.debug({ err, topic }, 'retained publish not acknowledged; sent again on reconnect'));
  }

  publishStatus(payload: unknown): void {
    this.send(topics.status(this.ctx), payload);
  }

  publishHealth(payload: unknown): void {
    this.send(topics.health(this.ctx), payload);
  }

  /**
   * Coalesced (STATE_COALESCE_MS): a press changes a button's state twice in one turn, and neither
   * copy may go out ahead of the alarm itself (whose commit is already queued for this turn's end).
   */
  setState(device: string, state: unknown): void {
    this.makers.delete(device);
    this.states.set(device, state);
    this.changed(device);
  }

  /**
   * setState with the snapshot taken when the coalesced publish goes out, not when the device
   * changed: a button's change is on the alarm's path, and building its snapshot there (names,
   * inputs, timestamps) delayed the alarm's commit for a copy the next turn replaces anyway.
   */
  setStateOf(device: string, snapshot: () => unknown): void {
    this.makers.set(device, snapshot);
    this.changed(device);
  }

  private changed(device: string): void {
    this.cleared.delete(device);
    this.dirty.add(device);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Unref'd: a stop does not wait for it (every state is re-published after the next connect).
    setTimeout(() => {
      this.flushScheduled = false;
      this.takeSnapshots();
      for (const d of this.dirty) {
        const state = this.states.get(d);
        if (state !== undefined) this.send(topics.state(this.ctx, d), state);
      }
      this.dirty.clear();
    }, STATE_COALESCE_MS).unref();
  }

  private takeSnapshots(): void {
    for (const [device, make] of this.makers) {
      try {
        this.states.set(device, make());
      } catch (err) {
        this.log.error({ err, device, code: 'WG_ERR_UPLINK_PUBLISH' }, 'device state snapshot failed');
      }
    }
    this.makers.clear();
  }

  /**
   * A device removed from the config (live reload): its retained state is cleared at the broker
   * (an empty retained message), or the control room would keep seeing a device that is gone.
   * Sent again after each reconnect until the broker has acknowledged it once.
   */
  clearState(device: string): void {
    this.states.delete(device);
    this.makers.delete(device);
    this.dirty.delete(device);
    this.cleared.add(device);
    this.sendClear(device);
  }

  private sendClear(device: string): void {
    if (!this.uplink.connected) return;
    this.uplink.publish(topics.state(this.ctx, device), '', { retain: true }).then(
      () => this.cleared.delete(device),
      (err) => this.log.debug({ err, device }, 'retained state clear not acknowledged; sent again on reconnect'),
    );
  }

  republishAll(): void {
    this.takeSnapshots();
    for (const device of this.cleared) this.sendClear(device);
    for (const [device, state] of this.states) this.send(topics.state(this.ctx, device), state);
    this.dirty.clear(); // all sent: the pending batch need not send them again
  }
}
