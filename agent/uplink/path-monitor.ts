// The box reports its own path failure (issue 10, EN 50136-1's "report a failed path at both
// ends"): `gateway.uplink_lost` when an established broker connection ends, `gateway.uplink_restored`
// with the outage length when one is up again. Both are ordinary events: durable, queued while the
// path is down (so the control room learns of the outage afterwards, in order), and seen at once by
// local rules (a "comms fault" lamp) because Agent.accept runs them before the outbox.
//
// Detection bound on the box: mqtt.js sends PINGREQ every keepaliveSec (whatever else is sent:
// reschedulePings is off, client-options.ts) and gives up when no PINGRESP came within
// 1.5 × keepaliveSec of the last one, so a path that goes silent is reported at most
// 1.5 × keepaliveSec after it did; a path
// that is closed (RST, broker down) is reported at once. The broker applies the same 1.5 × rule
// (MQTT 3.1.2.10) before it publishes the will. For a 20 s bound at both ends: keepaliveSec ≤ 13.

export interface PathStatus {
  state: 'up' | 'down' | 'never-connected';
  since: string | null;
  /** Why the path went down (the uplink's reason: "Keepalive timeout", ECONNRESET, ...). */
  reason: string | null;
  lostCount: number;
  lastOutageMs: number | null;
  /** The bound on detecting a silent path, 1.5 × mqtt.keepaliveSec. */
  detectionBoundSec: number;
}

export interface PathMonitorOptions {
  keepaliveSec: number;
  event(type: 'gateway.uplink_lost' | 'gateway.uplink_restored', data: Record<string, unknown>): void;
  now?: () => number;
}

export class PathMonitor {
  private state: PathStatus['state'] = 'never-connected';
  private since: number | null = null;
  private upSince: number | null = null;
  private reason: string | null = null;
  private lostCount = 0;
  private lastOutageMs: number | null = null;
  private readonly now: () => number;

  constructor(private readonly opts: PathMonitorOptions) {
    this.now = opts.now ?? Date.now;
  }

  connected(broker: string): void {
    const now = this.now();
    if (this.state === 'down' && this.since !== null) {
      this.lastOutageMs = now - this.since;
      this.opts.event('gateway.uplink_restored', {
        broker,
        outageMs: this.lastOutageMs,
        lostAt: new Date(this.since).toISOString(),
        reason: this.reason,
      });
    }
    this.state = 'up';
    this.since = now;
    this.upSince = now;
  }

  disconnected(broker: string | null, reason: string): void {
    if (this.state !== 'up') return;
    const now = this.now();
    this.lostCount++;
    this.state = 'down';
    this.reason = reason;
    this.since = now;
    this.opts.event('gateway.uplink_lost', {
      broker,
      reason,
      detectedBy: /keepalive/i.test(reason) ? 'keepalive' : 'connection',
      upForMs: this.upSince !== null ? now - this.upSince : null,
      detectionBoundSec: this.opts.keepaliveSec * 1.5,
    });
  }

  status(): PathStatus {
    return {
      state: this.state,
      since: this.since !== null ? new Date(this.since).toISOString() : null,
      reason: this.reason,
      lostCount: this.lostCount,
      lastOutageMs: this.lastOutageMs,
      detectionBoundSec: this.opts.keepaliveSec * 1.5,
    };
  }
}
