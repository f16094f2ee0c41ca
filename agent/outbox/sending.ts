// The outbox's side towards the drain: what to publish next (critical lane first, by seq within a
// lane; refused rows only when every lane is read to its end), and what became of each publish —
// acknowledged (deleted in batches), refused (marked on disk, announced once per topic, slot freed
// at once), or to retry later (its lane holds briefly). Deletes, refusal marks and re-stamped
// payloads commit together in one "settle" transaction.
import { SEVERITIES, type Severity, type WgEvent } from '../event.js';
import { OutboxCore, type OutboxOptions } from './core.js';
import { LaneHolds } from './holds.js';
import { InFlight, SENT } from './inflight.js';
import { LANES } from './mirror.js';
import { toRanges } from './ranges.js';
import { groupByTopic, RefusalBook, type RefusalGroup, type RefusalMark, reasonName } from './refused.js';

const ACK_DELAY_MS = 20;
const SETTLE_RETRY_MS = 1000;
const NONE: readonly RefusalGroup[] = [];

export interface OutboxRow {
  seq: number;
  lane: number;
  topic: string;
  payload: string;
  unsynced: boolean;
}

export interface LaneStats {
  lane: Severity;
  depth: number;
  bytes: number;
  oldestAgeMs: number | null;
  /** Rows the broker refused, kept on disk and retried (part of `depth`). */
  refused: number;
}

export class OutboxSending extends OutboxCore {
  private readonly cursor = new Array<number>(LANES).fill(0);
  readonly refusals: RefusalBook;
  private listeners: Array<(accepted: readonly WgEvent[]) => void> = [];
  private acked: number[] = [];
  private marks: RefusalMark[] = [];
  private restamps: Array<{ seq: number; payload: string }> = [];
  private ackTimer: NodeJS.Timeout | undefined;
  private settleRetry: NodeJS.Timeout | undefined;
  private readonly holds = new LaneHolds(() => this.committed([]));
  /** A retry round of refused rows is due; it reads them in (lane, seq) order from this point. */
  private refusedRound = false;
  private refusedAfter: [number, number] = [0, 0];
  /** Topics refused again in this round: their other rows wait for the next one (no storm). */
  private readonly refusedThisRound = new Set<string>();
  private lastSettleFailLogAt = 0;
  private readonly settleTxn;
  /** Acknowledged rows deleted per batch at the latest (the drain sets it to a quarter window). */
  ackBatch = 16;

  constructor(opts: OutboxOptions) {
    super(opts, new InFlight());
    this.refusals = new RefusalBook(opts.fullTopic);
    this.settleTxn = this.db.transaction(
      (seqs: number[], marks: RefusalMark[], groups: readonly RefusalGroup[], now: number): boolean => {
        for (const r of this.restamps) this.stmts.setPayload.run(r.payload, r.seq);
        let drift = false;
        // Contiguous runs of seqs: one range delete each (a drain acknowledges mostly in order).
        for (const [from, to] of toRanges(seqs)) {
          const { changes } = this.stmts.delRange.run(from, to);
          if (changes !== to - from + 1) drift = true;
          for (let q = from; q <= to; q++) {
            const f = this.inflight.get(q);
            if (f) this.mirror.removed(f.lane, 1, f.bytes, f.refused !== 0 ? 1 : 0);
            else drift = true;
          }
        }
        for (const m of marks) {
          const { changes } = this.stmts.markRefused.run(m.code, now, m.seq);
          if (changes === 1 && this.inflight.get(m.seq)?.refused === 0) this.mirror.markedRefused(m.lane, 1);
        }
        const full = this.opts.fullTopic ?? ((t: string) => t);
        for (const g of groups) {
          this.ownEvent(
            {
              type: 'gateway.publish_rejected',
              data: {
                topic: full(g.topic),
                reasonCode: g.reasonCode,
                reason: reasonName(g.reasonCode),
                seqFrom: g.seqFrom,
                seqTo: g.seqTo,
                count: g.count,
                critical: g.critical,
              },
            },
            now,
          );
        }
        this.writeCounters();
        return drift;
      },
    );
  }

  /** Called after every commit that added rows (with the events accepted) or freed window slots. */
  onAccepted(listener: (accepted: readonly WgEvent[]) => void): void {
    this.listeners.push(listener);
  }

  protected override committed(accepted: readonly WgEvent[]): void {
    for (const l of this.listeners) l(accepted);
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
      const rows = this.stmts.fetch.all(lane, this.cursor[lane] as number, want);
      for (const r of rows) {
        this.cursor[lane] = r.seq;
        if (!this.inflight.send(r.seq, r.lane, r.bytes, 0, r.topic)) continue; // already on its way
        out.push({ seq: r.seq, lane: r.lane, topic: r.topic, payload: r.payload, unsynced: r.unsynced === 1 });
      }
      // Read to its end: refused rows beyond the cursor wait for their retry round, not every pump.
      if (rows.length < want && tail > (this.cursor[lane] as number)) this.cursor[lane] = tail;
    }
    if (out.length < limit && this.refusedRound) this.nextRefused(out, limit);
    return out;
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
        out.push({ seq: r.seq, lane: r.lane, topic: r.topic, payload: r.payload, unsynced: r.unsynced === 1 });
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
    this.acked.push(seq);
    // Deletes wait a moment and go in batches: a delete transaction right before the next alarm's
    // commit would make that commit wait for it. A quarter of the window forces a batch out, so
    // the drain never stalls on slots held by acknowledged rows.
    if (this.acked.length >= this.ackBatch) this.settleNow();
    else if (!this.ackTimer) {
      this.ackTimer = setTimeout(() => {
        this.ackTimer = undefined;
        this.settle();
      }, ACK_DELAY_MS);
    }
  }

  private settleNow(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    setImmediate(() => this.settle());
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
    this.marks.push({ seq, lane: f.lane, code, topic: f.topic });
    this.settleNow();
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

  /** The drain re-stamped a row's time: store that payload so every later copy is the same. */
  restamped(seq: number, payload: string): void {
    this.restamps.push({ seq, payload });
    if (!this.ackTimer) {
      this.ackTimer = setTimeout(() => {
        this.ackTimer = undefined;
        this.settle();
      }, ACK_DELAY_MS);
    }
  }

  /** Commit acknowledged deletes, refusal marks (and their announcements) and re-stamped payloads. */
  protected settle(): void {
    if (this.closed || (this.acked.length === 0 && this.marks.length === 0 && this.restamps.length === 0)) return;
    const seqs = this.acked.sort((a, b) => a - b);
    this.acked = [];
    const marks = this.marks;
    this.marks = [];
    const now = Date.now();
    const groups = marks.length > 0 ? groupByTopic(marks) : NONE;
    const announce = groups.length > 0 ? groups.filter((g) => !this.refusals.isAnnounced(g.topic)) : NONE;
    // A lost delete or mark only means a resend after a crash: no fsync for it. An announcement
    // is an accepted event, and those are synced.
    const durable = announce.length > 0;
    if (!durable) this.stmts.syncNormal.run();
    let drift = false;
    this.begin();
    try {
      drift = this.settleTxn(seqs, marks, announce, now);
    } catch (err) {
      this.abort();
      this.settleFailed(seqs, marks, err, now);
      return;
    } finally {
      if (!durable) this.stmts.syncFull.run();
    }
    this.commit();
    this.restamps = [];
    for (const q of seqs) {
      const f = this.inflight.get(q);
      if (f && f.refused !== 0) {
        const t = this.refusals.cleared(f.topic);
        if (t) this.opts.log.info({ topic: t.topic, seq: q }, 'broker takes a refused topic again');
      }
      this.inflight.done(q);
    }
    for (const m of marks) this.inflight.done(m.seq);
    for (const g of groups) this.refusals.record(g, now, announce.includes(g) ? this.opts.log : undefined);
    if (drift) this.reload();
    this.checkpointer?.noteWrite(seqs.length * 64 + 512);
    this.committed(durable ? [...this.txnOwn] : []); // window slots were freed
  }

  /** Nothing settled: acknowledged rows stop holding slots (never resent), everything is retried. */
  private settleFailed(seqs: number[], marks: RefusalMark[], err: unknown, now: number): void {
    for (const q of seqs) this.inflight.settling(q);
    this.acked = seqs.concat(this.acked);
    this.marks = marks.concat(this.marks);
    if (now - this.lastSettleFailLogAt >= 60_000) {
      this.lastSettleFailLogAt = now;
      this.opts.log.error({ err, acked: seqs.length, refused: marks.length }, 'outbox settle failed; retrying');
    }
    if (!this.settleRetry) {
      this.settleRetry = setTimeout(() => {
        this.settleRetry = undefined;
        this.settle();
      }, SETTLE_RETRY_MS);
      this.settleRetry.unref();
    }
    this.committed([]);
  }

  protected stopTimers(): void {
    for (const t of [this.ackTimer, this.settleRetry]) if (t) clearTimeout(t);
    this.ackTimer = undefined;
    this.settleRetry = undefined;
    this.holds.stop();
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
