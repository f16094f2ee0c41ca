// What became of what the drain sent, committed together in one "settle" transaction: deletes of
// acknowledged rows (batched: a quarter window, or 20 ms), refusal marks with their announcement
// (`gateway.publish_rejected`, once per topic), and re-stamped payloads. A failed settle changes
// nothing in memory: acknowledged rows stop holding window slots (they are never resent) and
// everything is retried a second later.
import type { WgEvent } from '../event.js';
import { OutboxCore, type OutboxOptions } from './core.js';
import { isLockContention } from './db.js';
import { InFlight } from './inflight.js';
import { toRanges } from './ranges.js';
import { groupByTopic, RefusalBook, type RefusalGroup, type RefusalMark, reasonName } from './refused.js';

const ACK_DELAY_MS = 20;
const SETTLE_RETRY_MS = 1000;
/** A settle that found the write lock taken (the checkpoint worker's TRUNCATE) is retried sooner. */
const SETTLE_BUSY_RETRY_MS = 20;
const NONE: readonly RefusalGroup[] = [];

export class OutboxSettle extends OutboxCore {
  readonly refusals: RefusalBook;
  private listeners: Array<(accepted: readonly WgEvent[]) => void> = [];
  private acked: number[] = [];
  private marks: RefusalMark[] = [];
  private restamps: Array<{ seq: number; payload: string }> = [];
  private ackTimer: NodeJS.Timeout | undefined;
  private settleRetry: NodeJS.Timeout | undefined;
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

  /** An acknowledged row, deleted with the next batch. */
  protected queueAck(seq: number): void {
    this.acked.push(seq);
    // Deletes wait a moment and go in batches: a delete transaction right before the next alarm's
    // commit would make that commit wait for it. A quarter of the window forces a batch out, so
    // the drain never stalls on slots held by acknowledged rows.
    if (this.acked.length >= this.ackBatch) this.settleNow();
    else this.settleSoon();
  }

  /** A refused row, marked (and announced) on the next turn. */
  protected queueMark(mark: RefusalMark): void {
    this.marks.push(mark);
    this.settleNow();
  }

  private settleSoon(): void {
    if (this.ackTimer) return;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined;
      this.settle();
    }, ACK_DELAY_MS);
  }

  private settleNow(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    setImmediate(() => this.settle());
  }

  /** The drain re-stamped a row's time: store that payload so every later copy is the same. */
  restamped(seq: number, payload: string): void {
    this.restamps.push({ seq, payload });
    this.settleSoon();
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
    const busy = isLockContention(err);
    if (now - this.lastSettleFailLogAt >= 60_000) {
      this.lastSettleFailLogAt = now;
      const ctx = { err, acked: seqs.length, refused: marks.length };
      if (busy) this.opts.log.warn(ctx, 'outbox settle found the write lock taken; retrying');
      else this.opts.log.error(ctx, 'outbox settle failed; retrying');
    }
    if (!this.settleRetry) {
      this.settleRetry = setTimeout(
        () => {
          this.settleRetry = undefined;
          this.settle();
        },
        busy ? SETTLE_BUSY_RETRY_MS : SETTLE_RETRY_MS,
      );
      this.settleRetry.unref();
    }
    this.committed([]);
  }

  protected stopTimers(): void {
    for (const t of [this.ackTimer, this.settleRetry]) if (t) clearTimeout(t);
    this.ackTimer = undefined;
    this.settleRetry = undefined;
  }
}
