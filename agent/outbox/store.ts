// The outbox (DESIGN §6): the only way an event leaves the box. An event is accepted when its row
// is committed with synchronous=FULL; events arriving within one turn of the event loop share one
// transaction (group commit, at most COMMIT_CHUNK rows each). While the disk refuses writes,
// events are held in memory (bounded, agent/outbox/held.ts) and retried in chunks.
// The drain side (what to send next, PUBACKs, refusals) is in agent/outbox/sending.ts.
import { errorMessage, WardgateError } from '../errors.js';
import type { NewEvent, WgEvent } from '../event.js';
import { LANES } from './core.js';
import { isLockContention } from './db.js';
import { HeldQueue, type Pending } from './held.js';
import { OutboxSending } from './sending.js';

export type { OutboxOptions } from './core.js';
export type { LaneStats, OutboxRow } from './sending.js';
export { LANES };

const RETRY_MS = 1000;
/**
 * Another connection holding SQLite's write lock (the checkpoint worker's TRUNCATE, an export) is
 * not a refusing disk: such a commit is retried after this long, without `gateway.disk_low`.
 */
const BUSY_RETRY_MS = 5;
/** Contention for longer than this is reported as a write failure after all. */
const BUSY_REPORT_AFTER_MS = 5000;
/**
 * Rows per transaction. One turn's worth normally fits (the ingest bench offers 256 per turn);
 * a held backlog is retried in chunks of this size, one per turn, never as one transaction.
 */
export const COMMIT_CHUNK = 1024;
export const MAX_HELD_DEFAULT = 10_000;
/** A commit of this many rows or more is a flood's (the drain's telemetry publishing yields to it). */
export const FLOOD_ROWS = 64;

const noop = (): void => {};

export class Outbox extends OutboxSending {
  private readonly held: HeldQueue;
  private flushScheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly flushSoon = () => this.flush();
  private urgentScheduled = false;
  private readonly flushUrgent = () => {
    this.urgentScheduled = false;
    this.flush(true);
  };
  private readonly flushTxn;
  private lastFailureLogAt = 0;
  private lastDropLogAt = 0;
  private lastBusyLogAt = 0;
  /** Since when commits find the write lock taken (undefined: the last commit got it). */
  private busySince: number | undefined;
  /** Commits retried because another connection held the write lock. */
  busyRetries = 0;
  /** When (performance.now) the last bulk commit (FLOOD_ROWS rows or more) was made. */
  lastBulkAt = Number.NEGATIVE_INFINITY;
  diskLow: { since: number; error: string } | undefined;

  constructor(opts: ConstructorParameters<typeof OutboxSending>[0]) {
    super(opts);
    this.held = new HeldQueue(opts.maxHeldEvents ?? MAX_HELD_DEFAULT);
    this.flushTxn = this.db.transaction((n: number, now: number, accepted: WgEvent[], urgent: boolean) => {
      for (let i = 0; i < n; i++) accepted.push(this.insertRow(this.held.at(i).ev, now));
      const drops = this.held.drops;
      if (drops) {
        // Held events never had a seq: nothing to range; say how many and when, per lane.
        this.ownEvent(
          {
            type: 'gateway.outbox_evicted',
            data: {
              reason: 'held',
              count: drops.low + drops.normal,
              ranges: [],
              lanes: { low: drops.low, normal: drops.normal },
              firstDroppedAt: new Date(drops.firstAt).toISOString(),
              lastDroppedAt: new Date(drops.lastAt).toISOString(),
            },
          },
          now,
        );
      }
      this.evictForCap(now, urgent);
      this.writeCounters(true);
    });
    const jumped = this.seqJumped;
    if (this.quarantined || jumped) {
      const q = this.quarantined;
      void this.accept(
        opts.gatewayEvent({
          type: 'gateway.outbox_quarantined',
          data: {
            movedTo: q?.movedTo ?? null,
            reason: q?.reason ?? 'outbox database missing or older than the seq reservation',
            seqContinuesAfter: this.lastSeq,
          },
        }),
      ).catch((err) => opts.log.error({ err }, 'could not record the quarantine event'));
    }
  }

  /**
   * Resolves once the event is committed and synced to disk. Takes ownership of `ev` (it gets its `seq`).
   * Events offered in one turn share a commit. An alarm (critical, high) is committed as soon as
   * the code that made it returns (a microtask), not after the event loop's next round of I/O and
   * timers; other events wait for the check phase, so a burst of telemetry shares one fsync.
   */
  accept(ev: NewEvent): Promise<WgEvent> {
    if (this.closed) return Promise.reject(new WardgateError('WG_ERR_OUTBOX_CLOSED'));
    this.opts.timeline?.accept(ev);
    return new Promise<WgEvent>((resolve, reject) => {
      this.held.push({ ev, resolve, reject });
      if (this.diskLow && this.held.size > this.held.shedAt) this.shed(Date.now());
      if (this.retryTimer) return; // the disk refuses writes: the retry takes it
      if (ev.severity === 'critical' || ev.severity === 'high') {
        if (!this.urgentScheduled) {
          this.urgentScheduled = true;
          queueMicrotask(this.flushUrgent);
        }
      } else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(this.flushSoon);
      }
    });
  }

  /** Commit what is held (COMMIT_CHUNK rows at most). `urgent`: an alarm's microtask flush. */
  private flush(urgent = false): void {
    this.flushScheduled = false;
    const n = Math.min(this.held.size, COMMIT_CHUNK);
    if (n === 0 || this.closed) return;
    const now = Date.now();
    const accepted: WgEvent[] = [];
    for (let l = 0; l < LANES; l++) this.freshFloor[l] = this.mirror.tail[l] as number;
    const evictedBefore = this.evictedTotal;
    this.collectFresh = true;
    this.begin();
    try {
      this.flushTxn(n, now, accepted, urgent);
    } catch (err) {
      this.collectFresh = false;
      this.fresh = undefined;
      this.abort();
      this.onWriteFailure(err, now);
      return;
    }
    this.collectFresh = false;
    this.busySince = undefined;
    this.commit();
    if (n >= FLOOD_ROWS) this.lastBulkAt = performance.now();
    const timeline = this.opts.timeline;
    if (timeline) {
      const at = performance.now();
      for (let i = 0; i < n; i++) timeline.committed(this.held.at(i).ev, (accepted[i] as WgEvent).seq, at);
    }
    // Rows the same commit evicted again (a tiny cap) must not be offered from memory.
    if (this.evictedTotal !== evictedBefore) this.fresh = undefined;
    if (this.held.drops) this.held.drops = undefined;
    for (let i = 0; i < n; i++) this.held.at(i).resolve(accepted[i] as WgEvent);
    this.held.consume(n);
    for (const own of this.txnOwn) accepted.push(own);
    if (this.diskLow) {
      this.opts.log.warn({ heldMs: now - this.diskLow.since, held: this.held.size }, 'outbox writes succeed again');
      this.diskLow = undefined;
    }
    this.checkpointer?.noteWrite(this.bytesSinceNote);
    this.bytesSinceNote = 0;
    if (this.held.size > 0 && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushSoon);
    }
    try {
      this.committed(accepted);
    } finally {
      this.fresh = undefined;
    }
  }

  /** Keep events in memory when the disk refuses them (bounded), say so, and retry. */
  private onWriteFailure(err: unknown, now: number): void {
    if (!this.diskLow && isLockContention(err)) {
      this.busySince ??= now;
      if (now - this.busySince < BUSY_REPORT_AFTER_MS) {
        this.busyRetries++;
        if (now - this.lastBusyLogAt >= 60_000) {
          this.lastBusyLogAt = now;
          this.opts.log.warn({ err, held: this.held.size }, 'outbox write lock taken by another connection; retrying');
        }
        this.retryFlushIn(BUSY_RETRY_MS);
        return;
      }
    }
    this.busySince = undefined;
    const code = (err as { code?: string }).code ?? '';
    // Retried every second: log the first failure, then a reminder a minute, not a line a second.
    if (!this.diskLow || now - this.lastFailureLogAt >= 60_000) {
      this.lastFailureLogAt = now;
      this.opts.log.error({ err, held: this.held.size }, 'outbox commit failed; holding events in memory');
    }
    if (!this.diskLow) {
      this.diskLow = { since: now, error: `${code} ${errorMessage(err)}`.trim() };
      const ev = this.opts.gatewayEvent({ type: 'gateway.disk_low', data: { error: this.diskLow.error } });
      const onOwn = this.opts.onOwnEvent;
      const p: Pending = { ev, resolve: onOwn ? (e) => onOwn(e) : noop, reject: noop };
      this.held.pushFront(p);
    }
    if (this.held.size > this.held.shedAt) this.shed(now);
    this.retryFlushIn(RETRY_MS);
  }

  private retryFlushIn(ms: number): void {
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.flush();
    }, ms);
    this.retryTimer.unref();
  }

  private shed(now: number): void {
    const dropped = this.held.shed(now);
    if (dropped === 0) return;
    this.evictedTotal += dropped;
    if (now - this.lastDropLogAt >= 60_000) {
      this.lastDropLogAt = now;
      this.opts.log.warn(
        { dropped, held: this.held.size, maxHeldEvents: this.held.max, droppedTotal: this.held.droppedTotal },
        'disk refuses writes and too many events are held: dropping the oldest low/normal ones',
      );
    }
  }

  get pendingInMemory(): number {
    return this.held.size;
  }

  /** Held events dropped (low/normal, over outbox.maxHeldEvents while the disk refused writes). */
  get heldDroppedTotal(): number {
    return this.held.droppedTotal;
  }

  /** Commit what is pending and close. Events still held in memory (disk full) are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    // The checkpoint worker first: its TRUNCATE holds the write lock, and a final commit that
    // found it taken would reject what is still held instead of writing it.
    await this.checkpointer?.stop();
    if (this.closed) return;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    // Everything offered before close, in chunks, until the disk refuses one.
    while (this.held.size > 0) {
      const before = this.held.size;
      this.flush();
      if (this.held.size >= before) break;
    }
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.settle();
    this.recordCounters();
    this.stopTimers();
    this.closed = true;
    this.held.rejectAll(new WardgateError('WG_ERR_OUTBOX_CLOSED', 'closed while the disk refused writes'));
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.opts.log.warn({ err }, 'final checkpoint failed');
    }
    this.db.close();
  }

  /** Tests: stop as `kill -9` would, keeping only what was committed. */
  abandon(): void {
    if (this.closed) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.stopTimers();
    this.closed = true;
    void this.checkpointer?.stop();
    this.db.close();
  }
}
