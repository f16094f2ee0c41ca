// Replay protection: every nonce of a correctly signed command is kept, in the outbox database (its
// own tables, committed with synchronous=FULL before the command executes), until the command has
// expired beyond the allowed skew. It survives restarts, and it is bounded by expiry: a command
// lives at most 24 h (envelope.ts), so a nonce is kept at most 24 h plus maxSkewSec.
//
// Time on a box whose clock is not synced (no RTC, NTP not reached yet): its wall clock may be
// anywhere. The store keeps a *floor*, the latest time the box knew to be true (written while the
// clock was synced, and persisted). Until the clock syncs again:
//   - a command that expired (plus skew) before the floor is refused as `expired`;
//   - `not-yet-valid` cannot be judged and is not checked;
//   - nonces are never pruned.
// No replay is possible either way: a nonce is pruned only once its command expired before a
// synced moment, and the floor is at least that moment, so such a command is refused as expired.
import type Database from 'better-sqlite3';
import { CommandRejected } from './envelope.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS command_nonces (
  nonce TEXT PRIMARY KEY,
  key_id TEXT NOT NULL,
  command_id TEXT NOT NULL,
  expires_ms INTEGER NOT NULL,
  seen_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS command_nonces_expiry ON command_nonces(expires_ms);
CREATE TABLE IF NOT EXISTS command_clock (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;
`;

export class NonceStore {
  private readonly stmts;
  private floorMs: number;
  private readonly recordTxn: (
    nonce: string,
    keyId: string,
    commandId: string,
    expiresMs: number,
    now: number,
    synced: boolean,
  ) => boolean;

  constructor(
    db: Database.Database,
    private readonly skewMs: number,
  ) {
    db.exec(SCHEMA);
    this.stmts = {
      insert: db.prepare(
        'INSERT OR IGNORE INTO command_nonces (nonce, key_id, command_id, expires_ms, seen_ms) VALUES (?, ?, ?, ?, ?)',
      ),
      prune: db.prepare('DELETE FROM command_nonces WHERE expires_ms < ?'),
      count: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM command_nonces'),
      getFloor: db.prepare<[], { v: number }>("SELECT v FROM command_clock WHERE k = 'floor_ms'"),
      setFloor: db.prepare("INSERT OR REPLACE INTO command_clock (k, v) VALUES ('floor_ms', ?)"),
    };
    this.floorMs = this.stmts.getFloor.get()?.v ?? 0;
    // One transaction, so one fsync on the command path (measured on a loaded 2-core VM: the
    // nonce and the floor as two commits cost 16 ms p50 of the acknowledge loop).
    this.recordTxn = db.transaction((nonce, keyId, commandId, expiresMs, now, synced) => {
      const fresh = this.stmts.insert.run(nonce, keyId, commandId, expiresMs + this.skewMs, now).changes === 1;
      if (synced && now > this.floorMs) this.stmts.setFloor.run(now);
      return fresh;
    });
  }

  /** The latest time known to be true (ms since the epoch; 0: never synced). */
  get floor(): number {
    return this.floorMs;
  }

  get size(): number {
    return this.stmts.count.get()?.n ?? 0;
  }

  /** A synced clock reads `now`: raise the floor (persisted, so a reboot without NTP keeps it). */
  noteSynced(now: number): void {
    if (now <= this.floorMs) return;
    this.floorMs = now;
    this.stmts.setFloor.run(now);
  }

  /** Throws `expired` / `not-yet-valid` by the rule in the header. */
  checkTime(issuedMs: number, expiresMs: number, synced: boolean, now: number): void {
    if (synced) {
      if (now > expiresMs + this.skewMs)
        throw new CommandRejected('expired', `expired ${Math.round((now - expiresMs) / 1000)} s ago`);
      if (now < issuedMs - this.skewMs)
        throw new CommandRejected('not-yet-valid', `issued ${Math.round((issuedMs - now) / 1000)} s in the future`);
      return;
    }
    if (expiresMs + this.skewMs < this.floorMs)
      throw new CommandRejected('expired', 'expired before the last time this box knew (its clock is not synced yet)');
  }

  /**
   * Record a nonce (durably, one commit) before its command runs; a synced clock also raises the
   * floor in the same commit. False: seen before.
   */
  record(nonce: string, keyId: string, commandId: string, expiresMs: number, now: number, synced = true): boolean {
    const fresh = this.recordTxn(nonce, keyId, commandId, expiresMs, now, synced);
    if (synced && now > this.floorMs) this.floorMs = now; // after COMMIT only
    return fresh;
  }

  /** Forget nonces whose command expired (plus skew) before `now`; only with a synced clock. */
  prune(now: number, synced: boolean): number {
    if (!synced) return 0;
    this.noteSynced(now);
    return this.stmts.prune.run(now).changes;
  }
}
