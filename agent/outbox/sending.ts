// The outbox's side towards the drain: what to publish next (critical lane first, by seq within a
// lane; refused rows only when every lane is read to its end), and what became of each publish —
// acknowledged (deleted in batches), refused (marked on disk, announced once per topic, slot freed
// at once), or to retry later (its lane holds briefly). The commits of those outcomes: settle.ts.
import { SEVERITIES, type Severity } from '../event.js';
import type { OutboxRow } from './core.js';
import { LaneHolds } from './holds.js';
import { SENT } from './inflight.js';
import { LANES } from './mirror.js';
import { reasonName } from './refused.js';
import { OutboxSettle } from './settle.js';

export interface LaneStats {
  lane: Severity;
  depth: number;
  bytes: number;
  oldestAgeMs: number | null;
  /** Rows the broker refused, kept on disk and retried (part of `depth`). */
  refused: number;
}

export type { OutboxRow } from './core.js';

export class OutboxSending extends OutboxSettle {
  private readonly cursor = new Array<number>(LANES).fill(0);
  private readonly holds = new LaneHolds(() => this.committed([]));
  /** A retry round of refused rows is due; it reads them in (lane, seq) order from this point. */
  private refusedRound = false;
  private refusedAfter: [number, number] = [0, 0];
  /** Topics refused again in this round: their other rows wait for the next one (no storm). */
  private readonly refusedThisRound = new Set<string>();

  protected override stopTimers(): void {
    super.stopTimers();
    this.holds.stop();
  }

  /** Next rows to publish: critical lane first, by seq within a lane. Marks them in flight. */
  nextBatch(limit: number): OutboxRow[] {
    const out: OutboxRow[] = [];
    const now = this.holds.any ? Date.now() : 0;
    for (let lane = 0; lane < LANES && out.length < limit; lane++) {
      const tail = this.mirror.tail[lane] as number;
      if (tail <= (this.cursor[lane] as number)) continue;
      if (this.holds.any && this.holds.isHeld(lane, now)) continue;
      const want = limit - out.length;
      // Everything unread in this lane was written by the commit being announced: take it from
      // memory (issue 13: the alarm is not read back from the table it was just written to).
      if (this.fresh !== undefined && (this.cursor[lane] as number) >= (this.freshFloor[lane] as number)) {
        this.takeFresh(this.fresh, lane, want, out);
        continue;
      }
      const rows = this.stmts.fetch.all(lane, this.cursor[lane] as number, want);
      for (const r of rows) {
        this.cursor[lane] = r.seq;
        if (!this.inflight.send(r.seq, r.lane, r.bytes, 0, r.topic)) continue; // already on its way
        out.push(r); // the statement's row is the drain's row: no copy
      }
      // Read to its end: refused rows beyond the cursor wait for their retry round, not every pump.
      if (rows.length < want && tail > (this.cursor[lane] as number)) this.cursor[lane] = tail;
    }
    if (out.length < limit && this.refusedRound) this.nextRefused(out, limit);
    return out;
  }

  private takeFresh(fresh: readonly OutboxRow[], lane: number, want: number, out: OutboxRow[]): void {
    let taken = 0;
    for (const r of fresh) {
      if (taken >= want) return;
      if (r.lane !== lane || r.seq <= (this.cursor[lane] as number)) continue;
      this.cursor[lane] = r.seq;
      if (!this.inflight.send(r.seq, r.lane, r.bytes, 0, r.topic)) continue;
      out.push(r);
      taken++;
    }
  }

  /** Refused rows, only after every lane was read to its end: they never delay a row the broker takes. */
  private nextRefused(out: OutboxRow[], limit: number): void {
    // Rows of a topic refused again in this round are skipped: read on until some row is sent.
    while (this.refusedRound && out.length < limit) {
      const want = limit - out.length;
      const [afterLane, afterSeq] = this.refusedAfter;
      const rows = this.stmts.fetchRefused.all(afterLane, afterSeq, want);
      for (const r of rows) {
        this.refusedAfter = [r.lane, r.seq];
        if (this.refusedThisRound.has(r.topic)) continue;
        if (!this.inflight.send(r.seq, r.lane, r.bytes, r.refused, r.topic)) continue;
        out.push(r);
      }
      if (rows.length < want) {
        this.refusedRound = false;
        this.refusedAfter = [0, 0];
      }
    }
  }

  /** Offer the refused rows again (slow schedule, reconnect): the broker's ACL may have changed. */
  retryRefused(): void {
    if (this.mirror.refusedTotal === 0 || this.refusedRound) return;
    this.refusedRound = true;
    this.refusedAfter = [0, 0];
    this.refusedThisRound.clear();
  }

  /** After a reconnect: everything not yet acknowledged is sent again (duplicates, never loss). */
  rewind(): void {
    this.settle();
    this.inflight.rewind();
    this.cursor.fill(0);
    this.holds.clear();
    this.refusedRound = false;
    this.retryRefused();
  }

  /** The broker acknowledged `seq`: delete it (batched; the delete need not be synced). */
  ack(seq: number): void {
    const f = this.inflight.ack(seq);
    if (!f) return; // not sent in this connection: a stale acknowledgement
    this.holds.taken(f.lane);
    this.queueAck(seq);
  }

  /** The broker refused `seq` for good (PUBACK >= 0x80): free its slot now, mark it on disk. */
  refuse(seq: number, code: number): void {
    const f = this.inflight.get(seq);
    if (!f || f.st !== SENT) return;
    this.refusals.refusedTotal++;
    if (f.refused !== 0) this.refusedThisRound.add(f.topic);
    if (f.refused === code && this.refusals.isAnnounced(f.topic)) {
      // A retried row refused again, already announced: nothing new to write.
      this.inflight.done(seq);
      this.refusals.record(
        { topic: f.topic, reasonCode: code, seqFrom: seq, seqTo: seq, count: 1, critical: f.lane === 0 },
        Date.now(),
      );
      return;
    }
    this.inflight.settling(seq);
    this.queueMark({ seq, lane: f.lane, code, topic: f.topic });
  }

  /** The broker cannot take `seq` now (quota, busy): give the slot back, hold the lane, send it again. */
  defer(seq: number, code: number): void {
    const f = this.inflight.release(seq);
    if (!f) return;
    this.refusals.deferredTotal++;
    if (f.refused !== 0) return; // a refused row on retry: the next round offers it again
    this.cursor[f.lane] = Math.min(this.cursor[f.lane] as number, seq - 1);
    const { ms, first } = this.holds.hold(f.lane);
    if (first) {
      this.opts.log.warn({ seq, reasonCode: code, reason: reasonName(code), holdMs: ms }, 'broker asks to retry later');
    }
  }

  /** Rows holding a window slot: sent on this connection and not yet deleted, acknowledged or not. */
  get inflightCount(): number {
    return this.inflight.live;
  }

  get refusedRows(): number {
    return this.mirror.refusedTotal;
  }

  /** Refused rows of the critical lane on disk (the page shows them in red). */
  get refusedCritical(): number {
    return this.mirror.refused[0] as number;
  }

  stats(now = Date.now()): LaneStats[] {
    return SEVERITIES.map((lane, l) => {
      const depth = this.mirror.count[l] ?? 0;
      const oldest = depth > 0 ? this.stmts.oldest.get(l) : undefined;
      return {
        lane,
        depth,
        bytes: this.mirror.bytes[l] ?? 0,
        oldestAgeMs: oldest ? now - oldest.accepted_ms : null,
        refused: this.mirror.refused[l] ?? 0,
      };
    });
  }
}
