// The heart of the central consumer (issue 15): events of many gateways in, each event out exactly
// once, in seq order per gateway and lane, and every seq that never came classified.
//
// Why it looks like this:
// - `seq` is per gateway across all lanes (DESIGN §4), and a gateway drains critical → high →
//   normal → low. So a lane's seqs are increasing but not contiguous, and a missing seq may be in a
//   lane that drains later. An event therefore waits for a lower missing seq only up to
//   `maxWaitMs` (alarms are never held longer than that behind telemetry), and a missing seq is
//   called lost only after `gapTimeoutMs` (a lower lane may still be draining a backlog).
// - Dedup is by seq within a gateway (seq and id are one-to-one by contract), kept as runs of
//   seqs (range-set.ts): memory is a few runs per gateway, not one entry per event. A window of
//   `windowSeqs` below the highest seq is remembered; an older arrival is passed on flagged
//   `possibleDuplicate` rather than dropped (at least once beats a silent loss).
// - A gap is *announced* when a `gateway.outbox_evicted` range (or a quarantine's
//   `seqContinuesAfter`) covers it, *unexplained* when nothing did by its deadline. Evictions of
//   held events (reason `held`) never had seqs: they are reported as `dropped`, with counts only.
// - `partial` is a `$share` member that sees only some of each gateway's events: it still orders
//   what it sees (bounded wait) but cannot classify gaps; the other members hold the rest.
// - Pure and clock-injected (every call takes `now`), so a journal replay (journal.ts) rebuilds
//   exactly the same state, and the property test drives it with a fake clock.
import { missingFromAll, RangeSet, type Run } from './range-set.js';
import {
  type CentralEvent,
  LANES,
  type Lane,
  laneOf,
  SEQUENCER_DEFAULTS,
  type SeqOutput,
  type SequencerOptions,
  type SequencerStats,
} from './types.js';

export * from './types.js';

interface Held {
  ev: CentralEvent;
  at: number;
}
interface Hole {
  from: number;
  to: number;
  since: number;
}
interface LaneState {
  last: number;
  held: Held[];
}
interface GatewaySeq {
  /** Seqs at or below it are before this consumer's view of the gateway: never gaps. */
  origin: number;
  /** Until then a lower first seq may still arrive and move the origin down (lanes drain apart). */
  provisionalUntil: number;
  maxSeen: number;
  /** The dedup window's lower edge. */
  floor: number;
  received: RangeSet;
  announced: RangeSet;
  lost: RangeSet;
  holes: Hole[];
  lanes: Record<Lane, LaneState>;
}

export class Sequencer {
  readonly opts: SequencerOptions;
  private gws = new Map<string, GatewaySeq>();
  private stats = { received: 0, released: 0, duplicates: 0, late: 0 };

  constructor(opts: Partial<SequencerOptions> = {}) {
    this.opts = { ...SEQUENCER_DEFAULTS, ...opts };
  }

  /**
   * After receive(): whether a replay needs the event's whole payload (it is still held, or it
   * announced something). Otherwise (gateway, seq, severity) rebuild the same state (journal.ts).
   */
  lastNeedsPayload = true;

  receive(ev: CentralEvent, now: number, redelivered = false): SeqOutput[] {
    const out: SeqOutput[] = [];
    this.lastNeedsPayload = ev.type.startsWith('gateway.outbox_');
    const seq = ev.seq;
    const g = this.gateway(ev.gateway, seq, now);
    const lane = laneOf(ev.severity);
    this.stats.received++;
    if (seq <= g.floor) {
      this.emit(out, { kind: 'event', gateway: ev.gateway, lane, seq, event: ev, possibleDuplicate: true });
      return out;
    }
    if (g.received.has(seq)) {
      this.stats.duplicates++;
      return out;
    }
    g.received.add(seq);
    let late = false;
    if (g.lost.has(seq)) {
      g.lost.remove(seq);
      late = true;
    }
    if (seq <= g.origin) {
      if (now < g.provisionalUntil) {
        this.addHole(g, ev.gateway, seq + 1, g.origin, now, out);
        g.origin = seq - 1;
      }
    } else if (seq > g.maxSeen + 1) this.addHole(g, ev.gateway, g.maxSeen + 1, seq - 1, now, out);
    g.maxSeen = Math.max(g.maxSeen, seq);
    this.announcement(g, ev, out);
    const L = g.lanes[lane];
    const again = redelivered ? { possibleDuplicate: true as const } : {};
    if (!late && seq > L.last && g.holes.length === 0 && L.held.length === 0) {
      // The common case: nothing missing, nothing waiting in this lane: out at once.
      L.last = seq;
      this.emit(out, { kind: 'event', gateway: ev.gateway, lane, seq, event: ev, ...again });
    } else {
      if (late || seq < L.last) {
        this.stats.late++;
        this.emit(out, { kind: 'event', gateway: ev.gateway, lane, seq, event: ev, late: true, ...again });
      } else {
        insertSorted(L.held, { ev, at: now });
        if (redelivered) (ev as { _redelivered?: true })._redelivered = true;
      }
      // What this seq unblocked, in every lane.
      this.release(g, now, out);
      if (L.held.some((h) => h.ev === ev)) this.lastNeedsPayload = true;
    }
    this.prune(g);
    return out;
  }

  /** Releases what has waited long enough and calls overdue gaps. Call every ~maxWaitMs/4. */
  tick(now: number): SeqOutput[] {
    const out: SeqOutput[] = [];
    for (const [name, g] of this.gws) {
      g.holes = g.holes.filter((h) => {
        const parts = missingFromAll([g.received, g.announced, g.lost], h.from, h.to);
        if (parts.length === 0) return false;
        if (this.opts.partial) return now < h.since + this.opts.maxWaitMs;
        if (now < h.since + this.opts.gapTimeoutMs) return true;
        for (const [a, b] of parts) this.declareLost(g, name, a, b, out);
        return false;
      });
      this.release(g, now, out);
    }
    return out;
  }

  /** Everything still held, released now regardless of holes (a clean stop). */
  flush(now: number): SeqOutput[] {
    const out: SeqOutput[] = [];
    for (const g of this.gws.values()) this.release(g, now, out, true);
    return out;
  }

  /** Nothing held and no open hole: a tick would change nothing (the journal skips it). */
  idle(): boolean {
    for (const g of this.gws.values()) {
      if (g.holes.length > 0) return false;
      for (const l of LANES) if (g.lanes[l].held.length > 0) return false;
    }
    return true;
  }

  heldCount(): number {
    let n = 0;
    for (const g of this.gws.values()) for (const l of LANES) n += g.lanes[l].held.length;
    return n;
  }

  statistics(): SequencerStats {
    return { ...this.stats, held: this.heldCount(), gateways: this.gws.size };
  }

  /** Plain JSON of the whole state (journal.ts snapshots it). */
  snapshot(): unknown {
    const gws: Record<string, unknown> = {};
    for (const [k, g] of this.gws)
      gws[k] = { ...g, received: g.received.runs, announced: g.announced.runs, lost: g.lost.runs };
    return { gateways: gws, stats: this.stats };
  }

  restore(snap: unknown): void {
    const s = snap as { gateways: Record<string, GatewaySeq & { received: Run[]; announced: Run[]; lost: Run[] }> };
    this.gws.clear();
    for (const [k, g] of Object.entries(s.gateways ?? {}))
      this.gws.set(k, {
        ...g,
        received: new RangeSet(g.received),
        announced: new RangeSet(g.announced),
        lost: new RangeSet(g.lost),
      });
    Object.assign(this.stats, (snap as { stats?: object }).stats ?? {});
  }

  private gateway(name: string, seq: number, now: number): GatewaySeq {
    let g = this.gws.get(name);
    if (!g) {
      const lane = (): LaneState => ({ last: 0, held: [] });
      g = {
        origin: this.opts.fromSeqOne ? 0 : seq - 1,
        provisionalUntil: this.opts.fromSeqOne ? 0 : now + this.opts.gapTimeoutMs,
        maxSeen: this.opts.fromSeqOne ? 0 : seq - 1,
        floor: 0,
        received: new RangeSet(),
        announced: new RangeSet(),
        lost: new RangeSet(),
        holes: [],
        lanes: { critical: lane(), high: lane(), normal: lane(), low: lane() },
      };
      this.gws.set(name, g);
    }
    return g;
  }

  private addHole(g: GatewaySeq, name: string, from: number, to: number, now: number, out: SeqOutput[]): void {
    if (to < from) return;
    g.holes.push({ from, to, since: now });
    // Bounded: the oldest open hole is decided now rather than remembered for ever.
    while (g.holes.length > this.opts.maxOpenHoles) {
      const h = g.holes.shift() as Hole;
      if (this.opts.partial) continue;
      for (const [a, b] of missingFromAll([g.received, g.announced, g.lost], h.from, h.to))
        this.declareLost(g, name, a, b, out);
    }
  }

  private declareLost(g: GatewaySeq, gateway: string, from: number, to: number, out: SeqOutput[]): void {
    g.lost.add(from, to);
    out.push({ kind: 'gap', gateway, status: 'unexplained', from, to });
  }

  private announcement(g: GatewaySeq, ev: CentralEvent, out: SeqOutput[]): void {
    const data = ev.data ?? {};
    if (ev.type === 'gateway.outbox_evicted') {
      const ranges = Array.isArray(data.ranges) ? (data.ranges as unknown[]) : [];
      if (ranges.length === 0) {
        out.push({
          kind: 'dropped',
          gateway: ev.gateway,
          reason: String(data.reason ?? 'held'),
          count: Number(data.count ?? 0),
          lanes: data.lanes ?? null,
          by: ev.id,
        });
        return;
      }
      for (const r of ranges) {
        if (!Array.isArray(r) || typeof r[0] !== 'number' || typeof r[1] !== 'number' || r[1] < r[0]) continue;
        const [a, b] = r as Run;
        const m = g.lost.missing(a, b);
        const wasLost = !(m.length === 1 && m[0]?.[0] === a && m[0]?.[1] === b);
        g.lost.remove(a, b);
        g.announced.add(a, b);
        out.push({
          kind: 'gap',
          gateway: ev.gateway,
          status: 'announced',
          from: a,
          to: b,
          reason: String(data.reason ?? 'cap'),
          by: ev.id,
          ...(wasLost ? { wasUnexplained: true as const } : {}),
        });
      }
    } else if (ev.type === 'gateway.outbox_quarantined' && typeof data.seqContinuesAfter === 'number') {
      // Seqs up to the reservation that never came are in the quarantined database (kept on the
      // box) or were never used: announced, not lost.
      const top = data.seqContinuesAfter;
      if (top <= g.origin) return;
      for (const [a, b] of missingFromAll([g.received, g.announced], g.origin + 1, top)) {
        g.lost.remove(a, b);
        g.announced.add(a, b);
        out.push({
          kind: 'gap',
          gateway: ev.gateway,
          status: 'announced',
          from: a,
          to: b,
          reason: 'quarantined',
          by: ev.id,
        });
      }
      g.maxSeen = Math.max(g.maxSeen, top);
    }
  }

  private pendingBetween(g: GatewaySeq, lo: number, hi: number): boolean {
    for (const h of g.holes) {
      const a = Math.max(h.from, lo + 1);
      const b = Math.min(h.to, hi - 1);
      if (a <= b && missingFromAll([g.received, g.announced, g.lost], a, b).length > 0) return true;
    }
    return false;
  }

  private release(g: GatewaySeq, now: number, out: SeqOutput[], force = false): void {
    for (const lane of LANES) {
      const L = g.lanes[lane];
      for (;;) {
        const head = L.held[0];
        if (!head) break;
        const mustGo = force || L.held.length > this.opts.maxHeldPerLane || now >= head.at + this.opts.maxWaitMs;
        if (!mustGo && this.pendingBetween(g, L.last, head.ev.seq)) break;
        L.held.shift();
        L.last = head.ev.seq;
        const ev = head.ev as CentralEvent & { _redelivered?: true };
        const again = ev._redelivered === true;
        if (again) delete ev._redelivered;
        this.emit(out, {
          kind: 'event',
          gateway: ev.gateway,
          lane,
          seq: ev.seq,
          event: ev,
          ...(again ? { possibleDuplicate: true as const } : {}),
        });
      }
    }
  }

  private emit(out: SeqOutput[], o: SeqOutput): void {
    this.stats.released++;
    out.push(o);
  }

  private prune(g: GatewaySeq): void {
    const floor = g.maxSeen - this.opts.windowSeqs;
    if (floor <= g.floor) return;
    g.floor = floor;
    g.origin = Math.max(g.origin, floor);
    for (const s of [g.received, g.announced, g.lost]) s.dropBelow(floor + 1);
    g.holes = g.holes.filter((h) => h.to > floor).map((h) => ({ ...h, from: Math.max(h.from, floor + 1) }));
  }
}

function insertSorted(held: Held[], h: Held): void {
  let i = held.length;
  while (i > 0 && (held[i - 1] as Held).ev.seq > h.ev.seq) i--;
  held.splice(i, 0, h);
}
