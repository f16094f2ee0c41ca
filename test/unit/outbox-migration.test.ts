// The outbox schema migration (user_version 0 -> 1, incremental auto-vacuum): runs once on a file
// written by an older build, keeps every row, and a new file starts at the current version.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { openOutboxDb, PAGE_CACHE_KIB, SCHEMA_VERSION } from '../../agent/outbox/db.js';
import { tempDir } from '../helpers/config.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

describe('outbox schema migration', () => {
  it('migrates a version-0 file once and keeps its rows', () => {
    const dir = tempDir();
    dirs.push(dir);
    const path = join(dir, 'outbox.db');
    // What builds before issue 12 wrote: no auto_vacuum, user_version 0.
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    old.exec(`CREATE TABLE meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;
      CREATE TABLE events (seq INTEGER PRIMARY KEY, lane INTEGER NOT NULL, topic TEXT NOT NULL,
        payload TEXT NOT NULL, bytes INTEGER NOT NULL, accepted_ms INTEGER NOT NULL, unsynced INTEGER NOT NULL)`);
    const ins = old.prepare('INSERT INTO events VALUES (?, 0, ?, ?, 2, 0, 0)');
    old.transaction(() => {
      for (let i = 1; i <= 500; i++) ins.run(i, `events/panic-button/p${i % 3}`, `{"seq":${i}}`);
    })();
    old.prepare("INSERT INTO meta VALUES ('last_seq', 500)").run();
    old.close();

    const { log, lines } = capture();
    const first = openOutboxDb(path, log).db;
    expect(first.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(first.pragma('auto_vacuum', { simple: true })).toBe(2); // INCREMENTAL
    const seqs = first.prepare('SELECT seq FROM events ORDER BY seq').pluck().all() as number[];
    expect(seqs).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    first.close();
    const second = openOutboxDb(path, log).db;
    second.close();
    const migrated = lines.filter((l) => l.msg === 'outbox schema migrated');
    expect(migrated).toHaveLength(1);
    expect(migrated[0]).toMatchObject({ from: 0, to: SCHEMA_VERSION });
  });

  it('starts a new file at the current version with incremental auto-vacuum, without migrating', () => {
    const dir = tempDir();
    dirs.push(dir);
    const { log, lines } = capture();
    const db = openOutboxDb(join(dir, 'outbox.db'), log).db;
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);
    db.close();
    expect(lines.filter((l) => String(l.msg).includes('migrat'))).toEqual([]);
  });
});

describe('outbox connection', () => {
  it("bounds its page cache below better-sqlite3's 16 MB default (a long drain filled it: +12 MiB RSS)", () => {
    const dir = tempDir();
    dirs.push(dir);
    const plain = new Database(':memory:');
    const builtIn = -(plain.pragma('cache_size', { simple: true }) as number);
    plain.close();
    const db = openOutboxDb(join(dir, 'outbox.db'), capture().log).db;
    expect(db.pragma('cache_size', { simple: true })).toBe(-PAGE_CACHE_KIB);
    expect(PAGE_CACHE_KIB).toBeLessThan(builtIn);
    // The settings the alarm path relies on come with it.
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    db.close();
  });
});
