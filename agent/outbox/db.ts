// Opening the outbox database: WAL, FULL sync, our own checkpoints, and quarantine of a file that
// does not open (moved aside and kept for forensics, never deleted).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  lane INTEGER NOT NULL,
  topic TEXT NOT NULL,
  payload TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  accepted_ms INTEGER NOT NULL,
  unsynced INTEGER NOT NULL,
  refused INTEGER NOT NULL DEFAULT 0,
  refused_ms INTEGER
);
CREATE INDEX IF NOT EXISTS events_lane_seq ON events(lane, seq);
`;

// Rows the broker refused (MQTT 5 PUBACK reason code >= 0x80): few, so a partial index finds them
// without touching the alarm path's index.
const REFUSED_INDEX = 'CREATE INDEX IF NOT EXISTS events_refused ON events(lane, seq) WHERE refused != 0';

/** SQLITE_BUSY / SQLITE_LOCKED and their extended codes: the lock is taken, the disk is fine. */
export function isLockContention(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'));
}

export interface Quarantine {
  movedTo: string;
  reason: string;
}

export interface OpenedDb {
  db: Database.Database;
  quarantined?: Quarantine;
}

/** The WAL file kept for reuse between checkpoints (`journal_size_limit`; bigger is cut back). */
export const WAL_KEEP_BYTES = 8 * 1024 * 1024;

/** The outbox connection's SQLite page cache (KiB; `PRAGMA cache_size` takes it negated). */
export const PAGE_CACHE_KIB = 2048;

/** The schema this build writes (PRAGMA user_version); older files are migrated at open. */
export const SCHEMA_VERSION = 1;
/** A bigger file is not rewritten at start (VACUUM would hold the start for many seconds on SD). */
const VACUUM_AT_OPEN_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Version 1 (issue 12): incremental auto-vacuum, so that the maintenance job can hand pages freed
 * by a drained backlog back to the disk a few at a time (`PRAGMA incremental_vacuum`) instead of the
 * file staying at its largest size for years. Existing files need one VACUUM to switch; a file over
 * VACUUM_AT_OPEN_MAX_BYTES (a backlog) stays at version 0 and is migrated at a later start.
 */
function migrate(db: Database.Database, log: Logger | undefined): void {
  const from = db.pragma('user_version', { simple: true }) as number;
  if (from >= SCHEMA_VERSION) return;
  const bytes =
    (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
  if (bytes > VACUUM_AT_OPEN_MAX_BYTES) {
    log?.warn({ from, to: SCHEMA_VERSION, bytes }, 'outbox schema migration deferred: the file is large');
    return;
  }
  db.pragma('auto_vacuum = INCREMENTAL');
  db.exec('VACUUM'); // rewrites every page; seq is the rowid, kept as is
  db.pragma(`user_version = ${SCHEMA_VERSION}`);
  log?.info({ from, to: SCHEMA_VERSION, bytes }, 'outbox schema migrated');
}

function configure(db: Database.Database, log?: Logger): void {
  // A new file gets incremental auto-vacuum before its first table (it cannot change after that
  // without a VACUUM) and starts at the current schema version.
  const fresh = (db.prepare('SELECT COUNT(*) AS n FROM sqlite_master').get() as { n: number }).n === 0;
  if (fresh) {
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // SQLite's automatic checkpoint runs inside the committing call, on the event loop (measured:
  // p99 16 ms vs 2.5 ms without). We checkpoint on our own schedule from a worker instead.
  db.pragma('wal_autocheckpoint = 0');
  // The WAL file is kept (up to this size) and overwritten after each checkpoint, never cut to
  // nothing in passing: an fsync after appending to a file also commits its new size to the
  // filesystem journal, and an alarm's FULL commit took twice as long on a growing WAL (measured:
  // 0.25–0.31 ms against 0.12–0.13 ms when overwriting; checkpoint.ts).
  db.pragma(`journal_size_limit = ${WAL_KEEP_BYTES}`);
  db.pragma('busy_timeout = 5000');
  // better-sqlite3 builds SQLite with a 16 MB page cache per connection. The outbox touches a few
  // pages at each end of its tables (appends at the tail, the drain reads and deletes at the
  // head), but a long drain walks the whole backlog once and the cache kept every page of it
  // (malloc, never returned): peak RSS grew by ~12 MiB from a 10k to a 300k backlog, with the
  // V8 heap flat (issue 13). 2 MiB holds the working set.
  db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
  db.exec(SCHEMA);
  // Databases made before refusals were kept (issue 7) lack the columns.
  const cols = db.prepare<[], { name: string }>('PRAGMA table_info(events)').all();
  if (!cols.some((c) => c.name === 'refused')) {
    db.exec('ALTER TABLE events ADD COLUMN refused INTEGER NOT NULL DEFAULT 0');
    db.exec('ALTER TABLE events ADD COLUMN refused_ms INTEGER');
  }
  db.exec(REFUSED_INDEX);
  try {
    migrate(db, log);
  } catch (err) {
    // VACUUM needs room for a second copy of the file: on a full disk it fails and leaves the file
    // as it was. That is no reason to quarantine a good database (its queued alarms would go aside).
    log?.warn({ err }, 'outbox schema migration failed; the file stays as it is and is migrated at a later start');
  }
  // Touch the data so a file with a valid header but corrupt pages fails here, not mid-alarm.
  db.prepare('SELECT COUNT(*) FROM meta').get();
  db.prepare('SELECT seq FROM events ORDER BY seq DESC LIMIT 1').get();
}

export function openOutboxDb(path: string, log: Logger): OpenedDb {
  mkdirSync(dirname(path), { recursive: true });
  try {
    const db = new Database(path);
    try {
      configure(db, log);
      return { db };
    } catch (err) {
      db.close();
      throw err;
    }
  } catch (err) {
    const reason = errorMessage(err);
    const movedTo = `${path}.quarantined-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    log.error({ err, path, movedTo }, 'outbox database failed to open; quarantining it');
    renameSync(path, movedTo);
    for (const suffix of ['-wal', '-shm']) {
      if (existsSync(path + suffix)) renameSync(path + suffix, movedTo + suffix);
    }
    const db = new Database(path);
    configure(db, log);
    return { db, quarantined: { movedTo, reason } };
  }
}

/**
 * A high-water mark of reserved seq numbers in a small side file, so that a quarantined, missing
 * or older database never makes seq go back: every seq is covered here (fsynced) before a row can
 * use it, and the database records which reservation it has seen (meta `reserved_upto`, written in
 * every commit). At open, a reservation the database has not seen means the database is not the
 * latest one, and seq continues above the reservation.
 */
export class SeqReservation {
  static readonly BLOCK = 10_000;
  private reservedUpTo: number;

  constructor(private readonly file: string) {
    this.reservedUpTo = SeqReservation.read(file);
  }

  static read(file: string): number {
    try {
      const n = Number.parseInt(readFileSync(file, 'utf8').trim(), 10);
      return Number.isFinite(n) && n >= 0 ? n : 0;
    } catch {
      return 0; // no reservation yet: a new box
    }
  }

  get upTo(): number {
    return this.reservedUpTo;
  }

  /** Ensure `seq` is covered, reserving the next block (fsynced) when it is not. */
  cover(seq: number): void {
    if (seq <= this.reservedUpTo) return;
    const next = seq + SeqReservation.BLOCK;
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, `${next}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
    this.reservedUpTo = next;
  }
}
