// Moving an outbox to new hardware (`wardgate export-outbox` / `import-outbox`): SD-card failure is
// the commonest fault of Pi-class boxes, and the replacement takes the same gateway id. The export
// is a consistent copy made with SQLite's online backup API (safe while the agent runs: pages
// written during the copy restart it), plus an `export_info` table saying whose outbox it is and
// how far its seq reservation went. The import puts it in place and keeps seq continuous: the
// new box's first event takes the next seq after the old box's last one, and never a seq the new
// box may have used already (agent/outbox/db.ts SeqReservation).
import {
  chownSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { WardgateError } from '../errors.js';
import { VERSION } from '../version.js';
import { SCHEMA_VERSION, SeqReservation } from './db.js';

export interface ExportInfo {
  gateway: string;
  exportedAt: string;
  lastSeq: number;
  reservedUpTo: number;
  rows: number;
  schemaVersion: number;
  version: string;
}

const DB = 'outbox.db';
const RESERVATION = 'seq.reserved';

/** Pids (other than ours) that hold `file` open: a running agent must not have its outbox replaced. */
export function holdersOf(file: string): number[] {
  const target = resolve(file);
  const pids: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to look at
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) {
          pids.push(Number(pid));
          break;
        }
      } catch {
        // the fd closed while we looked
      }
    }
  }
  return pids;
}

function fsyncFile(path: string): void {
  const fd = openSync(path, 'r'); // read-only works for directories too
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Same format and care as SeqReservation.cover (fsynced, renamed into place), an exact value. */
function writeReservation(file: string, upTo: number): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, `${upTo}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

const meta = (db: Database.Database, k: string) =>
  (db.prepare('SELECT v FROM meta WHERE k = ?').pluck().get(k) as number | undefined) ?? 0;

/** The last seq committed: the meta row's, or a later row's (commits that only add rows leave the row). */
const lastSeqOf = (db: Database.Database) =>
  Math.max(meta(db, 'last_seq'), (db.prepare('SELECT MAX(seq) FROM events').pluck().get() as number | null) ?? 0);

/** Copy the outbox in `dataDir` to `file` (which must not exist). */
export async function exportOutbox(dataDir: string, file: string, gateway: string): Promise<ExportInfo> {
  const src = join(dataDir, DB);
  if (!existsSync(src)) throw new WardgateError('WG_ERR_OUTBOX_IMPORT_BAD_FILE', `no outbox at ${src}`);
  if (existsSync(file)) throw new WardgateError('WG_ERR_OUTBOX_IMPORT_BAD_FILE', `${file} exists already`);
  const db = new Database(src, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    await db.backup(file);
  } finally {
    db.close();
  }
  const out = new Database(file);
  try {
    // A reservation the database has not recorded yet (killed between reserving and committing).
    const reservedUpTo = Math.max(meta(out, 'reserved_upto'), SeqReservation.read(join(dataDir, RESERVATION)));
    const info: ExportInfo = {
      gateway,
      exportedAt: new Date().toISOString(),
      lastSeq: lastSeqOf(out),
      reservedUpTo,
      rows: out.prepare('SELECT COUNT(*) FROM events').pluck().get() as number,
      schemaVersion: out.pragma('user_version', { simple: true }) as number,
      version: VERSION,
    };
    out.exec('CREATE TABLE export_info (k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID');
    const put = out.prepare('INSERT INTO export_info (k, v) VALUES (?, ?)');
    for (const [k, v] of Object.entries(info)) put.run(k, String(v));
    // One file to carry: no WAL beside it.
    out.pragma('journal_mode = DELETE');
    return info;
  } finally {
    out.close();
  }
}

/** What an export file says about itself; refuses anything else. */
export function readExportInfo(file: string): ExportInfo {
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new WardgateError('WG_ERR_OUTBOX_IMPORT_BAD_FILE', `${file}: cannot be opened`, { cause: err });
  }
  try {
    const check = db.pragma('quick_check', { simple: true });
    if (check !== 'ok') throw new WardgateError('WG_ERR_OUTBOX_IMPORT_BAD_FILE', `${file}: ${String(check)}`);
    const rows = db.prepare('SELECT k, v FROM export_info').all() as Array<{ k: string; v: string }>;
    const kv = Object.fromEntries(rows.map((r) => [r.k, r.v]));
    if (!kv.gateway) throw new Error('no export_info');
    const info: ExportInfo = {
      gateway: kv.gateway,
      exportedAt: kv.exportedAt ?? '',
      lastSeq: Number(kv.lastSeq),
      reservedUpTo: Number(kv.reservedUpTo),
      rows: Number(kv.rows),
      schemaVersion: Number(kv.schemaVersion),
      version: kv.version ?? '',
    };
    if (info.schemaVersion > SCHEMA_VERSION) {
      throw new WardgateError(
        'WG_ERR_OUTBOX_IMPORT_BAD_FILE',
        `${file}: made by a newer wardgate (schema ${info.schemaVersion}, this build reads up to ${SCHEMA_VERSION})`,
      );
    }
    return info;
  } catch (err) {
    if (err instanceof WardgateError) throw err;
    throw new WardgateError('WG_ERR_OUTBOX_IMPORT_BAD_FILE', `${file}: not a wardgate outbox export`, { cause: err });
  } finally {
    db.close();
  }
}

export interface ImportResult {
  info: ExportInfo;
  /** Where the outbox that was here went (only with force, when it held rows). */
  setAside?: string;
  /** The seq the next event will take (or the first after a jump over this box's own reservation). */
  nextSeq: number;
}

/**
 * Put an export in place as the outbox of `dataDir`. Refused while a process holds the outbox
 * open, for another gateway id, or over undelivered events unless `force` (they are then moved
 * aside, never deleted).
 */
export async function importOutbox(
  dataDir: string,
  file: string,
  gateway: string,
  opts: { force?: boolean } = {},
): Promise<ImportResult> {
  const info = readExportInfo(file);
  if (info.gateway !== gateway && !opts.force) {
    throw new WardgateError(
      'WG_ERR_OUTBOX_IMPORT_GATEWAY',
      `export from ${info.gateway}, config says ${gateway} (the new box takes the old box's id)`,
    );
  }
  mkdirSync(dataDir, { recursive: true }); // a new box that never ran has none yet
  const target = join(dataDir, DB);
  const holders = existsSync(target) ? holdersOf(target) : [];
  if (holders.length > 0)
    throw new WardgateError('WG_ERR_OUTBOX_IN_USE', `${target} is open in pid ${holders.join(', ')}`);
  let here = { rows: 0, lastSeq: 0 };
  if (existsSync(target)) {
    const db = new Database(target, { readonly: true });
    try {
      here = { rows: db.prepare('SELECT COUNT(*) FROM events').pluck().get() as number, lastSeq: lastSeqOf(db) };
    } finally {
      db.close();
    }
  }
  if (here.rows > 0 && !opts.force) {
    throw new WardgateError('WG_ERR_OUTBOX_IMPORT_NOT_EMPTY', `${here.rows} events in ${target}`);
  }

  // Copy into place beside the target, then rename: a failure midway leaves the old outbox intact.
  const staging = `${target}.importing`;
  rmSync(staging, { force: true });
  const src = new Database(file, { readonly: true });
  try {
    await src.backup(staging);
  } finally {
    src.close();
  }
  const db = new Database(staging);
  try {
    db.exec('DROP TABLE IF EXISTS export_info');
    // The database records the reservation it has seen: the export's, so that no jump follows.
    db.prepare('INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v').run(
      'reserved_upto',
      info.reservedUpTo,
    );
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
  fsyncFile(staging);
  let setAside: string | undefined;
  if (existsSync(target)) {
    setAside = `${target}.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    renameSync(target, setAside);
    for (const suffix of ['-wal', '-shm'])
      if (existsSync(target + suffix)) renameSync(target + suffix, setAside + suffix);
    if (here.rows === 0) {
      // Nothing undelivered in it: no reason to keep it.
      for (const suffix of ['', '-wal', '-shm']) rmSync(setAside + suffix, { force: true });
      setAside = undefined;
    }
  }
  renameSync(staging, target);
  fsyncFile(dataDir);
  // Run as root, the import would leave files the service's user cannot write: give them the data
  // dir's owner (systemd re-owns StateDirectory= only when the directory itself has another owner).
  const owner = statSync(dataDir);
  if (process.getuid?.() === 0) chownSync(target, owner.uid, owner.gid);

  // The reservation file: at least what the export reserved (seq continues exactly at the old
  // box's last seq + 1), and never below what this box reserved or used itself (then seq jumps
  // above that at the next start rather than reuse a seq this box may have published).
  const reservationFile = join(dataDir, RESERVATION);
  const own = Math.max(SeqReservation.read(reservationFile), here.lastSeq);
  const upTo = Math.max(own, info.reservedUpTo);
  writeReservation(reservationFile, upTo);
  if (process.getuid?.() === 0) chownSync(reservationFile, owner.uid, owner.gid);
  const nextSeq = (upTo > info.reservedUpTo && upTo > info.lastSeq ? upTo : info.lastSeq) + 1;
  return { info, ...(setAside ? { setAside } : {}), nextSeq };
}
