// The outbox's database side: opening (seq continues above any reservation the database has not
// seen), prepared statements, and the transaction frame every write goes through — begin stages
// effects in the mirror, commit applies them only once SQLite's COMMIT returned, abort drops them.
// Rows get their seq only from the mirror (reserved first); the outbox's own events (evicted,
// disk low, publish rejected) are written inside the transaction that causes them.
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { laneOf, type MakeEventInput, type NewEvent, type Severity, type WgEvent } from '../event.js';
import { eventJson } from '../event-json.js';
import { type CheckpointOptions, CheckpointScheduler } from './checkpoint.js';
import { openOutboxDb, type Quarantine, SeqReservation } from './db.js';
import { evictOldest } from './evict.js';
import type { InFlight } from './inflight.js';
import { LANES, LaneMirror } from './mirror.js';
import { toRanges } from './ranges.js';
import type { AlarmTimeline } from './timeline.js';

export { LANES };

/** A row as the drain gets it: read from the table, or straight from the commit that wrote it. */
export interface OutboxRow {
  seq: number;
  lane: number;
  topic: string;
  payload: string;
  /** 1: accepted before the clock synced (re-stamped when sent, if it can be). */
  unsynced: number;
  bytes: number;
}

const EVICTABLE: Severity[] = ['low', 'normal']; // never critical or high
/** Rows per age-eviction transaction (~18 ms here); more follow on the next turns. */
export const AGE_EVICT_CHUNK = 4096;
/**
 * The rows committed after the counters row was last written, per lane. NOT INDEXED: otherwise
 * SQLite walks the whole lane index for the GROUP BY (13.6 ms for 300k rows when 1,000 match,
 * against 0.6 ms for the seq range; seconds on an SD card under a long backlog).
 */
export const UNRECORDED_ROWS_SQL =
  'SELECT lane, COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b, MAX(seq) AS m FROM events NOT INDEXED WHERE seq > ? GROUP BY lane';

/** How far below the cap a cap eviction goes (at most 10% of the cap). */
export const CAP_EVICT_SLACK_BYTES = 1024 * 1024;

export interface OutboxOptions {
  dataDir: string;
  maxBytes: number;
  maxAgeMs?: Partial<Record<Severity, number>>;
  /** Events held in memory while the disk refuses writes, before low/normal ones are dropped. */
  maxHeldEvents?: number;
  checkpointIntervalMs?: number;
  /** Checkpoint thresholds (tests shorten them). */
  checkpoint?: Partial<Omit<CheckpointOptions, 'intervalMs'>>;
  log: Logger;
  /** Builds the outbox's own events (evicted, quarantined, disk low, publish rejected). */
  gatewayEvent: (input: Omit<MakeEventInput, 'device' | 'deviceType'>) => NewEvent;
  /** Topic suffix for an event, stored with the row: `events/{deviceType}/{device}`. */
  topicOf: (ev: NewEvent) => string;
  /** The full topic of a stored suffix, as refusals are reported (default: the suffix). */
  fullTopic?: (suffix: string) => string;
  /** Each of the outbox's own events once committed (local actions can match them). */
  onOwnEvent?: (ev: WgEvent) => void;
  /** Per-stage stamps of alarms (issue 13): accept and commit are stamped here. */
  timeline?: AlarmTimeline;
}

export class OutboxCore {
  readonly quarantined: Quarantine | undefined;
  /** seq continued above a reservation the database had not recorded (it was missing or older). */
  readonly seqJumped: { from: number; to: number } | undefined;
  readonly checkpointer: CheckpointScheduler | undefined;
  protected readonly db: Database.Database;
  /** The same connection, for small side tables on the same disk (the command nonce store, issue 10). */
  get database(): Database.Database {
    return this.db;
  }
  protected readonly reservation: SeqReservation;
  protected readonly mirror: LaneMirror;
  protected closed = false;
  /** Over the byte cap with nothing evictable left (alarms only): kept, and reported. */
  alarmsOverCap = false;
  /** Rows evicted (cap, age) plus held events dropped, since start. */
  evictedTotal = 0;
  /** Row bytes inserted since the checkpointer was last told (it paces checkpoints by them). */
  protected bytesSinceNote = 0;
  protected readonly stmts;
  // Effects of the open transaction that are not counters, applied on commit only.
  private txnEvicted = 0;
  private txnOverCap: boolean | undefined;
  protected readonly txnOwn: WgEvent[] = [];
  /**
   * The rows of the commit being announced, in seq order (issue 13): while `committed()` runs the
   * drain takes them from here instead of reading back what was just written. Undefined outside.
   */
  protected fresh: OutboxRow[] | undefined;
  /** Collect rows into `fresh` while inserting (set by the accept path's flush). */
  protected collectFresh = false;
  /** Each lane's tail before the commit of `fresh`: a drain cursor at or past it has read all older rows. */
  protected readonly freshFloor = new Array<number>(LANES).fill(0);
  private readonly counterArgs: Array<string | number>;
  /** last_seq and reserved_upto as the meta row has them (committed), and as the open transaction writes them. */
  private recorded = { seq: 0, reserved: 0 };
  private txnRecorded: { seq: number; reserved: number } | undefined;

  constructor(
    protected readonly opts: OutboxOptions,
    protected readonly inflight: InFlight,
  ) {
    const path = join(opts.dataDir, 'outbox.db');
    const opened = openOutboxDb(path, opts.log);
    this.db = opened.db;
    this.quarantined = opened.quarantined;
    this.reservation = new SeqReservation(join(opts.dataDir, 'seq.reserved'));
    this.mirror = new LaneMirror(this.reservation);
    const db = this.db;
    this.counterArgs = ['last_seq', 0, 'reserved_upto', 0];
    for (let l = 0; l < LANES; l++) this.counterArgs.push(`count_${l}`, 0, `bytes_${l}`, 0);
    this.stmts = {
      insert: db.prepare(
        'INSERT INTO events (seq, lane, topic, payload, bytes, accepted_ms, unsynced) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      setCounters: db.prepare(
        `INSERT INTO meta (k, v) VALUES ${Array.from({ length: this.counterArgs.length / 2 }, () => '(?, ?)').join(', ')}
         ON CONFLICT(k) DO UPDATE SET v = excluded.v`,
      ),
      getMeta: db.prepare<[string], { v: number }>('SELECT v FROM meta WHERE k = ?'),
      fetch: db.prepare<
        [number, number, number],
        { seq: number; lane: number; topic: string; payload: string; unsynced: number; bytes: number }
      >(
        'SELECT seq, lane, topic, payload, unsynced, bytes FROM events WHERE lane = ? AND seq > ? AND refused = 0 ORDER BY seq LIMIT ?',
      ),
      fetchRefused: db.prepare<
        [number, number, number],
        { seq: number; lane: number; topic: string; payload: string; unsynced: number; bytes: number; refused: number }
      >(
        `SELECT seq, lane, topic, payload, unsynced, bytes, refused FROM events
         WHERE refused != 0 AND (lane, seq) > (?, ?) ORDER BY lane, seq LIMIT ?`,
      ),
      delRange: db.prepare<[number, number]>('DELETE FROM events WHERE seq BETWEEN ? AND ?'),
      markRefused: db.prepare<[number, number, number]>(
        'UPDATE events SET refused = ?, refused_ms = COALESCE(refused_ms, ?) WHERE seq = ?',
      ),
      setPayload: db.prepare<[string, number]>('UPDATE events SET payload = ?, unsynced = 0 WHERE seq = ?'),
      // Prepared once: db.pragma() parses its statement on every call (measured: 8% of a drain).
      syncNormal: db.prepare('PRAGMA synchronous = NORMAL'),
      syncFull: db.prepare('PRAGMA synchronous = FULL'),
      oldest: db.prepare<[number], { accepted_ms: number }>(
        'SELECT accepted_ms FROM events WHERE lane = ? ORDER BY seq LIMIT 1',
      ),
    };
    // Commits that only add rows leave the meta row as it was (writeCounters): the rows past its
    // last_seq are counted here, a range of at most one reservation block.
    const recordedSeq = this.stmts.getMeta.get('last_seq')?.v ?? 0;
    const unrecorded = db
      .prepare<[number], { lane: number; n: number; b: number; m: number }>(UNRECORDED_ROWS_SQL)
      .all(recordedSeq);
    const lastSeq = Math.max(recordedSeq, ...unrecorded.map((r) => r.m));
    const unrecordedCounts = new Map<string, number>();
    for (const r of unrecorded) unrecordedCounts.set(`count_${r.lane}`, r.n).set(`bytes_${r.lane}`, r.b);
    const reservedInDb = this.stmts.getMeta.get('reserved_upto')?.v;
    this.recorded = { seq: recordedSeq, reserved: reservedInDb ?? 0 };
    // A database from before `reserved_upto` was recorded, with rows: trust its last_seq.
    const legacy = reservedInDb === undefined && lastSeq > 0;
    let seq = lastSeq;
    if (!legacy && this.reservation.upTo > (reservedInDb ?? 0) && this.reservation.upTo > lastSeq) {
      // Missing, quarantined, replaced by an older copy, or killed between reserving and
      // committing: continue above everything the reservation allowed (issue 7 item 4).
      this.seqJumped = { from: lastSeq, to: this.reservation.upTo };
      seq = this.reservation.upTo;
      opts.log.warn(this.seqJumped, 'outbox database had not seen the latest seq reservation; seq continues above it');
    }
    this.mirror.init(db, (k) => (this.stmts.getMeta.get(k)?.v ?? 0) + (unrecordedCounts.get(k) ?? 0), seq);
    if (this.reservation.upTo < seq) {
      // The reservation file is lost or behind: write it again now, so that losing the database
      // next cannot take seq back either (and record it, so the next start does not jump).
      try {
        this.reservation.cover(seq);
        db.prepare('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v').run(
          'reserved_upto',
          this.reservation.upTo,
        );
        this.recorded.reserved = this.reservation.upTo;
      } catch (err) {
        opts.log.error({ err }, 'could not renew the seq reservation; the next commit will');
      }
    }
    if (opts.checkpointIntervalMs !== 0) {
      this.checkpointer = new CheckpointScheduler(
        this.db,
        path,
        { intervalMs: opts.checkpointIntervalMs ?? 1000, ...opts.checkpoint },
        opts.log,
      );
    }
  }

  get lastSeq(): number {
    return this.mirror.seq;
  }

  protected begin(): void {
    this.mirror.begin();
    this.txnRecorded = undefined;
    this.txnEvicted = 0;
    this.txnOverCap = undefined;
    this.txnOwn.length = 0;
  }

  /** SQLite committed: the staged effects become true. */
  protected commit(): void {
    this.mirror.commit();
    if (this.txnRecorded) this.recorded = this.txnRecorded;
    this.txnRecorded = undefined;
    this.evictedTotal += this.txnEvicted;
    if (this.txnOverCap !== undefined) this.alarmsOverCap = this.txnOverCap;
    if (this.opts.onOwnEvent) for (const ev of this.txnOwn) this.opts.onOwnEvent(ev);
  }

  protected abort(): void {
    this.mirror.abort();
    this.txnRecorded = undefined;
    this.txnOwn.length = 0;
  }

  protected insertRow(ev: NewEvent, now: number): WgEvent {
    const seq = this.mirror.nextSeq();
    // The outbox owns an event once accepted: give it its seq in place (no copy per event).
    const full = ev as WgEvent;
    full.seq = seq;
    const payload = eventJson(ev, seq);
    const lane = laneOf(ev.severity);
    const bytes = Buffer.byteLength(payload) + 64; // row overhead, so the cap tracks the file size
    const topic = this.opts.topicOf(ev);
    const unsynced = ev.clock.synced ? 0 : 1;
    this.stmts.insert.run(seq, lane, topic, payload, bytes, now, unsynced);
    this.mirror.added(lane, seq, bytes);
    if (this.collectFresh) {
      this.fresh ??= [];
      this.fresh.push({ seq, lane, topic, payload, unsynced, bytes });
    }
    this.bytesSinceNote += bytes;
    return full;
  }

  /** One of the outbox's own events, written in the open transaction. */
  protected ownEvent(input: Omit<MakeEventInput, 'device' | 'deviceType'>, now: number): WgEvent {
    const ev = this.insertRow(this.opts.gatewayEvent(input), now);
    this.txnOwn.push(ev);
    return ev;
  }

  /**
   * All counters in one statement, in the transaction that changes what they count. With
   * `unlessOnlyAdded` (the accept path's commits), a transaction that only added rows under the
   * recorded seq reservation leaves the row as it is: its rows are past the row's last_seq, and the
   * next open counts them (at most one reservation block, since moving the reservation writes the
   * row). An alarm's commit then writes two pages instead of three and skips the statement
   * (measured inside the CLI: 14–19 µs of statement saved; the fsync did not measurably change).
   */
  protected writeCounters(unlessOnlyAdded = false): void {
    if (unlessOnlyAdded && this.mirror.onlyAdded && this.reservation.upTo === this.recorded.reserved) return;
    const a = this.counterArgs;
    a[1] = this.mirror.seqAfter;
    a[3] = this.reservation.upTo;
    for (let l = 0; l < LANES; l++) {
      a[5 + 4 * l] = this.mirror.countAfter(l);
      a[7 + 4 * l] = this.mirror.bytesAfter(l);
    }
    this.stmts.setCounters.run(...a);
    this.txnRecorded = { seq: this.mirror.seqAfter, reserved: this.reservation.upTo };
  }

  /**
   * The counters row brought up to date in a transaction of its own (a clean stop: the next start,
   * or an older build after a downgrade, then reads every count from it). Never throws.
   */
  protected recordCounters(): void {
    // Every commit that changes a count without adding a seq writes the row itself.
    if (this.mirror.seq === this.recorded.seq && this.reservation.upTo === this.recorded.reserved) return;
    this.begin();
    try {
      this.db.transaction(() => this.writeCounters())();
    } catch (err) {
      this.abort();
      this.opts.log.warn({ err }, 'could not record the outbox counters; the next start counts the newest rows');
      return;
    }
    this.commit();
  }

  /** Evict the oldest low, then normal rows (never in flight) until under the cap. Inside the commit. */
  protected evictForCap(now: number, urgent = false): void {
    const total = this.mirror.totalBytesAfter();
    if (total <= this.opts.maxBytes) {
      this.txnOverCap = false;
      return;
    }
    // Evict a little below the cap, so that one eviction event does not trigger the next one (each
    // costs a row), but never much: the delete runs inside this commit, and 10% of a 64 MiB cap
    // (14,000 rows) held the alarms committed beside it up to 59 ms here. An alarm's own commit
    // frees only what it needs; the next telemetry commit takes the slack.
    const slack = urgent ? 0 : Math.min(Math.floor(this.opts.maxBytes * 0.1), CAP_EVICT_SLACK_BYTES);
    let toFree = total - (this.opts.maxBytes - slack);
    const evicted: number[] = [];
    for (const sev of EVICTABLE) {
      if (toFree <= 0) break;
      const lane = laneOf(sev);
      const r = evictOldest(this.db, lane, this.inflight, { bytes: toFree });
      toFree -= r.bytes;
      this.mirror.removed(lane, r.seqs.length, r.bytes, r.refused);
      evicted.push(...r.seqs);
    }
    if (evicted.length > 0) this.recordEviction(evicted, 'cap', now);
    const after = this.mirror.totalBytesAfter();
    if (after > this.opts.maxBytes && !this.alarmsOverCap) {
      // Only alarms are left and they are over the cap: keep every one, and say so once.
      this.txnOverCap = true;
      this.opts.log.error(
        { bytes: after, maxBytes: this.opts.maxBytes },
        'outbox over its cap with alarms only; keeping them',
      );
      this.ownEvent(
        { type: 'gateway.disk_low', data: { reason: 'cap', bytes: after, maxBytes: this.opts.maxBytes } },
        now,
      );
    } else if (after <= this.opts.maxBytes) this.txnOverCap = false;
  }

  protected recordEviction(seqs: number[], reason: 'cap' | 'age', now: number): void {
    this.txnEvicted += seqs.length;
    const ranges = toRanges(seqs);
    this.opts.log.warn({ count: seqs.length, ranges: ranges.slice(0, 20), reason }, 'outbox evicted telemetry');
    this.ownEvent({ type: 'gateway.outbox_evicted', data: { reason, count: seqs.length, ranges } }, now);
  }

  /**
   * Age limits per lane (low/normal only). Called by the maintenance job every minute. Returns rows
   * evicted. At most AGE_EVICT_CHUNK rows per transaction, the rest on the next turns: a first
   * sweep after a long power-off, or a lowered `maxAgeHours`, would otherwise hold the event loop
   * (and any alarm) for the whole delete: 447 ms for 100,000 rows here.
   */
  evictByAge(now = Date.now()): number {
    if (this.closed) return 0;
    let evicted = 0;
    this.begin();
    try {
      this.db.transaction(() => {
        const seqs: number[] = [];
        for (const sev of EVICTABLE) {
          const maxAge = this.opts.maxAgeMs?.[sev];
          if (!maxAge || seqs.length >= AGE_EVICT_CHUNK) continue;
          const lane = laneOf(sev);
          const r = evictOldest(this.db, lane, this.inflight, {
            olderThanMs: now - maxAge,
            maxRows: AGE_EVICT_CHUNK - seqs.length,
          });
          this.mirror.removed(lane, r.seqs.length, r.bytes, r.refused);
          seqs.push(...r.seqs);
        }
        evicted = seqs.length;
        if (evicted === 0) return;
        this.recordEviction(seqs, 'age', now);
        this.writeCounters();
      })();
    } catch (err) {
      this.abort();
      this.opts.log.error({ err }, 'outbox age eviction failed; nothing was evicted');
      return 0;
    }
    this.commit();
    this.checkpointer?.noteWrite(evicted * 64 + 512);
    if (evicted > 0) this.committed([...this.txnOwn]);
    if (evicted >= AGE_EVICT_CHUNK) setImmediate(() => this.evictByAge(now));
    return evicted;
  }

  /** After a commit that added rows or freed window slots (the drain listens). */
  protected committed(_accepted: readonly WgEvent[]): void {}

  /** The table disagreed with what the mirror expected (never expected): trust the table. */
  protected reload(): void {
    this.opts.log.warn('outbox counters drifted from the table; recounting');
    this.mirror.load(this.db, this.stmts.getMeta.get('last_seq')?.v ?? 0);
  }

  get depth(): number {
    return this.mirror.depth;
  }

  /** Rows in the critical or high lane, sent or not (the drain never holds those back). */
  get alarmRows(): number {
    return this.mirror.countAfter(0) + this.mirror.countAfter(1);
  }
}
