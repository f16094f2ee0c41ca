// The outbox (DESIGN §6): the only way an event leaves the box. An event is accepted when its row
// is committed with synchronous=FULL; events arriving within one turn of the event loop share one
// transaction (group commit). Lanes by severity; a row is deleted only after the broker's PUBACK.
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { errorMessage, WardgateError } from '../errors.js';
import { laneOf, type MakeEventInput, type NewEvent, SEVERITIES, type Severity, type WgEvent } from '../event.js';
import { eventJson } from '../event-json.js';
import { type CheckpointOptions, CheckpointScheduler } from './checkpoint.js';
import { openOutboxDb, type Quarantine, SeqReservation } from './db.js';
import { evictOldest } from './evict.js';
import { toRanges } from './ranges.js';

export const LANES = SEVERITIES.length;
const EVICTABLE: Severity[] = ['low', 'normal']; // never critical or high
const RETRY_MS = 1000;
const ACK_DELAY_MS = 20;

export interface OutboxOptions {
  dataDir: string;
  maxBytes: number;
  maxAgeMs?: Partial<Record<Severity, number>>;
  checkpointIntervalMs?: number;
  /** Checkpoint thresholds (tests shorten them). */
  checkpoint?: Partial<Omit<CheckpointOptions, 'intervalMs'>>;
  log: Logger;
  /** Builds the outbox's own events (evicted, quarantined, disk low). */
  gatewayEvent: (input: Omit<MakeEventInput, 'device' | 'deviceType'>) => NewEvent;
  /** Topic suffix for an event, stored with the row: `events/{deviceType}/{device}`. */
  topicOf: (ev: NewEvent) => string;
}

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
}

interface Pending {
  ev: NewEvent;
  resolve: (ev: WgEvent) => void;
  reject: (err: Error) => void;
}

export class Outbox {
  readonly quarantined: Quarantine | undefined;
  private readonly db: Database.Database;
  private readonly reservation: SeqReservation;
  readonly checkpointer: CheckpointScheduler | undefined;
  private seq: number;
  private readonly count = new Array<number>(LANES).fill(0);
  private readonly bytes = new Array<number>(LANES).fill(0);
  private readonly cursor = new Array<number>(LANES).fill(0);
  /** Highest seq in each lane, so the drain skips lanes it has read to the end (no query). */
  private readonly tail = new Array<number>(LANES).fill(0);
  /** Sent and not yet deleted (acknowledged rows stay here until their delete commits). */
  private readonly inflight = new Map<number, { lane: number; bytes: number }>();
  private pending: Pending[] = [];
  private acked: number[] = [];
  private flushScheduled = false;
  private ackTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private listeners: Array<(accepted: readonly WgEvent[]) => void> = [];
  diskLow: { since: number; error: string } | undefined;
  /** Over the byte cap with nothing evictable left (alarms only): kept, and reported. */
  alarmsOverCap = false;
  private lastFailureLogAt = 0;
  /** Row bytes inserted since the checkpointer was last told (it paces checkpoints by them). */
  private bytesSinceNote = 0;
  evictedTotal = 0;
  private readonly stmts;

  constructor(private readonly opts: OutboxOptions) {
    const path = join(opts.dataDir, 'outbox.db');
    const opened = openOutboxDb(path, opts.log);
    this.db = opened.db;
    this.quarantined = opened.quarantined;
    this.reservation = new SeqReservation(join(opts.dataDir, 'seq.reserved'));
    const db = this.db;
    this.stmts = {
      insert: db.prepare(
        'INSERT INTO events (seq, lane, topic, payload, bytes, accepted_ms, unsynced) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      setCounters: db.prepare(
        `INSERT INTO meta (k, v) VALUES ${Array.from({ length: 1 + 2 * LANES }, () => '(?, ?)').join(', ')}
         ON CONFLICT(k) DO UPDATE SET v = excluded.v`,
      ),
      getMeta: db.prepare<[string], { v: number }>('SELECT v FROM meta WHERE k = ?'),
      fetch: db.prepare<
        [number, number, number],
        { seq: number; lane: number; topic: string; payload: string; unsynced: number; bytes: number }
      >(
        'SELECT seq, lane, topic, payload, unsynced, bytes FROM events WHERE lane = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      delRange: db.prepare<[number, number]>('DELETE FROM events WHERE seq BETWEEN ? AND ?'),
      laneTail: db.prepare<[number], { m: number | null }>('SELECT MAX(seq) AS m FROM events WHERE lane = ?'),
      recount: db.prepare<[], { lane: number; n: number; b: number }>(
        'SELECT lane, COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM events GROUP BY lane',
      ),
      // Prepared once: db.pragma() parses its statement on every call (measured: 8% of a drain).
      syncNormal: db.prepare('PRAGMA synchronous = NORMAL'),
      syncFull: db.prepare('PRAGMA synchronous = FULL'),
      oldest: db.prepare<[number], { accepted_ms: number }>(
        'SELECT accepted_ms FROM events WHERE lane = ? ORDER BY seq LIMIT 1',
      ),
    };
    const meta = (k: string) => this.stmts.getMeta.get(k)?.v ?? 0;
    // After a quarantine the new database continues above every seq the old one may have used.
    this.seq = Math.max(meta('last_seq'), opened.quarantined ? this.reservation.upTo : 0);
    for (let l = 0; l < LANES; l++) {
      this.count[l] = meta(`count_${l}`);
      this.bytes[l] = meta(`bytes_${l}`);
      this.tail[l] = this.stmts.laneTail.get(l)?.m ?? 0;
    }
    if (opts.checkpointIntervalMs !== 0) {
      this.checkpointer = new CheckpointScheduler(
        this.db,
        path,
        { intervalMs: opts.checkpointIntervalMs ?? 1000, ...opts.checkpoint },
        opts.log,
      );
    }
    if (opened.quarantined) {
      const q = opened.quarantined;
      void this.accept(
        opts.gatewayEvent({
          type: 'gateway.outbox_quarantined',
          data: { movedTo: q.movedTo, reason: q.reason, seqContinuesAfter: this.seq },
        }),
      ).catch((err) => opts.log.error({ err }, 'could not record the quarantine event'));
    }
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Resolves once the event is committed and synced to disk. Takes ownership of `ev` (it gets its `seq`). */
  accept(ev: NewEvent): Promise<WgEvent> {
    if (this.closed) return Promise.reject(new WardgateError('WG_ERR_OUTBOX_CLOSED'));
    return new Promise<WgEvent>((resolve, reject) => {
      this.pending.push({ ev, resolve, reject });
      if (!this.flushScheduled && !this.retryTimer) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Called after every commit that added rows (with the events accepted) or settled acknowledged ones. */
  onAccepted(listener: (accepted: readonly WgEvent[]) => void): void {
    this.listeners.push(listener);
  }

  private insertRow(ev: NewEvent, now: number): WgEvent {
    const seq = ++this.seq;
    // The outbox owns an event once accepted: give it its seq in place (no copy per event).
    const full = ev as WgEvent;
    full.seq = seq;
    const payload = eventJson(ev, seq);
    const lane = laneOf(ev.severity);
    const bytes = Buffer.byteLength(payload) + 64; // row overhead, so the cap tracks the file size
    this.stmts.insert.run(seq, lane, this.opts.topicOf(ev), payload, bytes, now, ev.clock.synced ? 0 : 1);
    this.count[lane] = (this.count[lane] ?? 0) + 1;
    this.bytes[lane] = (this.bytes[lane] ?? 0) + bytes;
    this.bytesSinceNote += bytes;
    this.tail[lane] = seq;
    return full;
  }

  /** All counters in one statement (it runs in every commit, the alarm path included). */
  private writeCounters(): void {
    const args: Array<string | number> = ['last_seq', this.seq];
    for (let l = 0; l < LANES; l++) args.push(`count_${l}`, this.count[l] ?? 0, `bytes_${l}`, this.bytes[l] ?? 0);
    this.stmts.setCounters.run(...args);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0 || this.closed) return;
    const batch = this.pending;
    this.pending = [];
    const before = { seq: this.seq, count: [...this.count], bytes: [...this.bytes] };
    const now = Date.now();
    let accepted: WgEvent[] = [];
    try {
      this.reservation.cover(this.seq + batch.length + 1);
      this.db.transaction(() => {
        accepted = batch.map((p) => this.insertRow(p.ev, now));
        this.evictForCap(now);
        this.writeCounters();
      })();
    } catch (err) {
      this.seq = before.seq;
      before.count.forEach((v, i) => {
        this.count[i] = v;
      });
      before.bytes.forEach((v, i) => {
        this.bytes[i] = v;
      });
      this.onWriteFailure(batch, err);
      return;
    }
    if (this.diskLow) {
      this.opts.log.warn({ heldMs: now - this.diskLow.since }, 'outbox writes succeed again');
      this.diskLow = undefined;
    }
    for (const [i, p] of batch.entries()) p.resolve(accepted[i] as WgEvent);
    this.checkpointer?.noteWrite(this.bytesSinceNote);
    this.bytesSinceNote = 0;
    for (const l of this.listeners) l(accepted);
  }

  /** Keep alarms in memory when the disk refuses them, say so, and retry. Nothing is dropped. */
  private onWriteFailure(batch: Pending[], err: unknown): void {
    const code = (err as { code?: string }).code ?? '';
    const message = errorMessage(err);
    const held = batch.length + this.pending.length;
    // Retried every second: log the first failure, then a reminder a minute, not a line a second.
    const now = Date.now();
    if (!this.diskLow || now - this.lastFailureLogAt >= 60_000) {
      this.lastFailureLogAt = now;
      this.opts.log.error({ err, held }, 'outbox commit failed; holding events in memory');
    }
    if (!this.diskLow) {
      this.diskLow = { since: Date.now(), error: `${code} ${message}`.trim() };
      const ev = this.opts.gatewayEvent({ type: 'gateway.disk_low', data: { error: this.diskLow.error } });
      batch.push({ ev, resolve: () => {}, reject: () => {} });
    }
    this.pending = [...batch, ...this.pending];
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.flush();
    }, RETRY_MS);
    this.retryTimer.unref();
  }

  /** Evict the oldest low, then normal rows (never in flight) until under the cap. Inside the commit. */
  private evictForCap(now: number): void {
    const total = this.bytes.reduce((a, b) => a + b, 0);
    if (total <= this.opts.maxBytes) {
      this.alarmsOverCap = false;
      return;
    }
    // Evict down to 90% so one eviction event does not trigger the next one (each costs a row).
    let toFree = total - Math.floor(this.opts.maxBytes * 0.9);
    const evicted: number[] = [];
    for (const sev of EVICTABLE) {
      if (toFree <= 0) break;
      const lane = laneOf(sev);
      const r = evictOldest(this.db, lane, this.inflight, { bytes: toFree });
      toFree -= r.bytes;
      this.count[lane] = (this.count[lane] ?? 0) - r.seqs.length;
      this.bytes[lane] = (this.bytes[lane] ?? 0) - r.bytes;
      evicted.push(...r.seqs);
    }
    if (evicted.length > 0) this.recordEviction(evicted, 'cap', now);
    const after = this.bytes.reduce((a, b) => a + b, 0);
    if (after > this.opts.maxBytes && !this.alarmsOverCap) {
      // Only alarms are left and they are over the cap: keep every one, and say so once.
      this.alarmsOverCap = true;
      this.opts.log.error(
        { bytes: after, maxBytes: this.opts.maxBytes },
        'outbox over its cap with alarms only; keeping them',
      );
      this.insertRow(
        this.opts.gatewayEvent({
          type: 'gateway.disk_low',
          data: { reason: 'cap', bytes: after, maxBytes: this.opts.maxBytes },
        }),
        now,
      );
    } else if (after <= this.opts.maxBytes) this.alarmsOverCap = false;
  }

  private recordEviction(seqs: number[], reason: 'cap' | 'age', now: number): void {
    this.evictedTotal += seqs.length;
    const ranges = toRanges(seqs);
    this.opts.log.warn({ count: seqs.length, ranges: ranges.slice(0, 20), reason }, 'outbox evicted telemetry');
    this.insertRow(
      this.opts.gatewayEvent({ type: 'gateway.outbox_evicted', data: { reason, count: seqs.length, ranges } }),
      now,
    );
  }

  /** Age limits per lane (low/normal only). Called by the maintenance job. */
  evictByAge(now = Date.now()): number {
    const evicted: number[] = [];
    this.db.transaction(() => {
      for (const sev of EVICTABLE) {
        const maxAge = this.opts.maxAgeMs?.[sev];
        if (!maxAge) continue;
        const lane = laneOf(sev);
        const r = evictOldest(this.db, lane, this.inflight, { olderThanMs: now - maxAge });
        this.count[lane] = (this.count[lane] ?? 0) - r.seqs.length;
        this.bytes[lane] = (this.bytes[lane] ?? 0) - r.bytes;
        evicted.push(...r.seqs);
      }
      if (evicted.length > 0) this.recordEviction(evicted, 'age', now);
      this.writeCounters();
    })();
    this.checkpointer?.noteWrite(evicted.length * 64 + 512);
    if (evicted.length > 0) for (const l of this.listeners) l([]);
    return evicted.length;
  }

  /** Next rows to publish: critical lane first, by seq within a lane. Marks them in flight. */
  nextBatch(limit: number): OutboxRow[] {
    const out: OutboxRow[] = [];
    for (let lane = 0; lane < LANES && out.length < limit; lane++) {
      if ((this.count[lane] ?? 0) === 0 || (this.tail[lane] ?? 0) <= (this.cursor[lane] ?? 0)) continue;
      const rows = this.stmts.fetch.all(lane, this.cursor[lane] ?? 0, limit - out.length);
      for (const r of rows) {
        this.cursor[lane] = r.seq;
        this.inflight.set(r.seq, { lane: r.lane, bytes: r.bytes });
        out.push({ seq: r.seq, lane: r.lane, topic: r.topic, payload: r.payload, unsynced: r.unsynced === 1 });
      }
    }
    return out;
  }

  /** After a reconnect: everything not yet acknowledged is sent again (duplicates, never loss). */
  rewind(): void {
    this.flushAcks();
    this.inflight.clear();
    this.cursor.fill(0);
  }

  /** The broker acknowledged `seq`: delete it (batched; the delete need not be synced). */
  ack(seq: number): void {
    if (!this.inflight.has(seq)) return; // not sent in this connection: a stale acknowledgement
    this.acked.push(seq);
    // Deletes wait a moment and go in batches: a delete transaction right before the next alarm's
    // commit would make that commit wait for it. A quarter of the window forces a batch out, so
    // the drain never stalls on slots held by acknowledged rows.
    if (this.acked.length >= this.ackBatch) {
      if (this.ackTimer) clearTimeout(this.ackTimer);
      this.ackTimer = undefined;
      setImmediate(() => this.flushAcks());
    } else if (!this.ackTimer) {
      this.ackTimer = setTimeout(() => {
        this.ackTimer = undefined;
        this.flushAcks();
      }, ACK_DELAY_MS);
    }
  }

  /** Acknowledged rows deleted per batch at the latest (the drain sets it to a quarter window). */
  ackBatch = 16;

  private flushAcks(): void {
    if (this.acked.length === 0 || this.closed) return;
    const seqs = this.acked.sort((a, b) => a - b);
    this.acked = [];
    // A lost delete only means a duplicate after a crash, so it does not pay for an fsync.
    this.stmts.syncNormal.run();
    try {
      this.db.transaction(() => {
        let drift = false;
        // Contiguous runs of seqs: one range delete each (a drain acknowledges mostly in order).
        for (const [from, to] of toRanges(seqs)) {
          const { changes } = this.stmts.delRange.run(from, to);
          if (changes !== to - from + 1) drift = true;
          for (let q = from; q <= to; q++) {
            const info = this.inflight.get(q);
            this.inflight.delete(q);
            if (!info) continue;
            this.count[info.lane] = (this.count[info.lane] ?? 0) - 1;
            this.bytes[info.lane] = (this.bytes[info.lane] ?? 0) - info.bytes;
          }
        }
        // Never expected (in-flight rows are not evicted); if it happens, trust the table.
        if (drift) this.recount();
        this.writeCounters();
      })();
    } catch (err) {
      for (const q of seqs) this.inflight.delete(q);
      this.opts.log.error({ err, count: seqs.length }, 'outbox delete failed; rows will be sent again');
    } finally {
      this.stmts.syncFull.run();
    }
    this.checkpointer?.noteWrite(seqs.length * 64 + 512);
    for (const l of this.listeners) l([]); // window slots were freed
  }

  /**
   * Sent and not yet deleted, acknowledged or not: what a crash now could send twice, and what
   * the drain's window counts.
   */
  get inflightCount(): number {
    return this.inflight.size;
  }

  private recount(): void {
    this.opts.log.warn('outbox counters drifted from the table; recounting');
    this.count.fill(0);
    this.bytes.fill(0);
    for (const r of this.stmts.recount.all()) {
      this.count[r.lane] = r.n;
      this.bytes[r.lane] = r.b;
    }
  }

  get depth(): number {
    return this.count.reduce((a, b) => a + b, 0);
  }

  get pendingInMemory(): number {
    return this.pending.length;
  }

  stats(now = Date.now()): LaneStats[] {
    return SEVERITIES.map((lane, l) => {
      const depth = this.count[l] ?? 0;
      const oldest = depth > 0 ? this.stmts.oldest.get(l) : undefined;
      return { lane, depth, bytes: this.bytes[l] ?? 0, oldestAgeMs: oldest ? now - oldest.accepted_ms : null };
    });
  }

  /** Commit what is pending and close. Events still held in memory (disk full) are rejected. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
    this.flush();
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.flushAcks();
    this.closed = true;
    for (const p of this.pending)
      p.reject(new WardgateError('WG_ERR_OUTBOX_CLOSED', 'closed while the disk refused writes'));
    this.pending = [];
    await this.checkpointer?.stop();
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch (err) {
      this.opts.log.warn({ err }, 'final checkpoint failed');
    }
    this.db.close();
  }
}
