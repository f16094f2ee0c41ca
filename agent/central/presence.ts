// Is each gateway there? `status` (retained; the MQTT will sets `offline` when the connection dies)
// says online/offline; `health` (retained, every mqtt.healthIntervalSec) that stops coming says a
// gateway is stale even when its will has not fired yet (a half-open path, a hung box).

export interface GatewayPresence {
  kind: 'gateway';
  gateway: string;
  state: 'online' | 'offline' | 'stale';
  reason?: string;
  /** The gateway's own timestamp of what was seen last. */
  since?: string;
}

interface Known {
  status: 'online' | 'offline' | undefined;
  reason: string | undefined;
  healthAt: number | undefined;
  healthTs: string | undefined;
  reported: string | undefined;
}

export class Presence {
  private gws = new Map<string, Known>();

  constructor(private readonly staleMs: number) {}

  update(gateway: string, kind: 'status' | 'health', body: Record<string, unknown>, now: number): GatewayPresence[] {
    let k = this.gws.get(gateway);
    if (!k) {
      k = { status: undefined, reason: undefined, healthAt: undefined, healthTs: undefined, reported: undefined };
      this.gws.set(gateway, k);
    }
    if (kind === 'status') {
      k.status = body.state === 'online' ? 'online' : 'offline';
      k.reason = typeof body.reason === 'string' ? body.reason : undefined;
    } else {
      // The gateway's clock when it can be read (a retained health may be hours old), else now.
      const ts = typeof body.ts === 'string' ? Date.parse(body.ts) : Number.NaN;
      k.healthAt = Number.isFinite(ts) ? Math.min(ts, now) : now;
      k.healthTs = typeof body.ts === 'string' ? body.ts : undefined;
    }
    return this.report(gateway, k, now);
  }

  check(now: number): GatewayPresence[] {
    const out: GatewayPresence[] = [];
    for (const [g, k] of this.gws) out.push(...this.report(g, k, now));
    return out;
  }

  list(now: number): GatewayPresence[] {
    return [...this.gws.entries()].map(([g, k]) => this.state(g, k, now));
  }

  private state(gateway: string, k: Known, now: number): GatewayPresence {
    if (k.status === 'offline')
      return { kind: 'gateway', gateway, state: 'offline', ...(k.reason ? { reason: k.reason } : {}) };
    if (k.healthAt !== undefined && now - k.healthAt > this.staleMs)
      return {
        kind: 'gateway',
        gateway,
        state: 'stale',
        reason: `no health for ${Math.round((now - k.healthAt) / 1000)} s`,
        ...(k.healthTs ? { since: k.healthTs } : {}),
      };
    return {
      kind: 'gateway',
      gateway,
      state: k.status === 'online' ? 'online' : 'stale',
      ...(k.status ? {} : { reason: 'no status yet' }),
    };
  }

  /** A record only when a gateway's state changes. */
  private report(gateway: string, k: Known, now: number): GatewayPresence[] {
    const s = this.state(gateway, k, now);
    if (s.state === k.reported) return [];
    k.reported = s.state;
    return [s];
  }
}
