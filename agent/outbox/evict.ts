// Selecting and deleting the oldest rows of one lane, skipping rows in flight or sent on an earlier
// connection (a row the broker may already have would otherwise be announced as dropped). Rows
// the broker refused are evictable like any other telemetry: it does not have them.
import type Database from 'better-sqlite3';

const CHUNK = 256;

export interface EvictLimit {
  /** Free at least this many bytes. */
  bytes?: number;
  /** Or: evict every row accepted before this wall time. */
  olderThanMs?: number;
  /** At most this many rows (the rest at a later call). */
  maxRows?: number;
}

export interface EvictResult {
  seqs: number[];
  bytes: number;
  /** How many of the evicted rows the broker had refused (their lane's refused count drops too). */
  refused: number;
}

export function evictOldest(
  db: Database.Database,
  lane: number,
  inflight: { has(seq: number): boolean },
  limit: EvictLimit,
): EvictResult {
  const select = db.prepare<
    [number, number, number],
    { seq: number; bytes: number; accepted_ms: number; refused: number }
  >('SELECT seq, bytes, accepted_ms, refused FROM events WHERE lane = ? AND seq > ? ORDER BY seq LIMIT ?');
  const del = db.prepare('DELETE FROM events WHERE seq = ?');
  const seqs: number[] = [];
  let freed = 0;
  let refused = 0;
  let after = 0;
  for (;;) {
    const rows = select.all(lane, after, CHUNK);
    if (rows.length === 0) break;
    for (const r of rows) {
      after = r.seq;
      if (limit.bytes !== undefined && freed >= limit.bytes) return { seqs, bytes: freed, refused };
      if (limit.olderThanMs !== undefined && r.accepted_ms >= limit.olderThanMs) return { seqs, bytes: freed, refused };
      if (limit.maxRows !== undefined && seqs.length >= limit.maxRows) return { seqs, bytes: freed, refused };
      if (inflight.has(r.seq)) continue;
      del.run(r.seq);
      seqs.push(r.seq);
      freed += r.bytes;
      if (r.refused !== 0) refused++;
    }
  }
  return { seqs, bytes: freed, refused };
}
