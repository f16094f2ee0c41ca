// A disk that refuses writes (SQLite's own SQLITE_FULL, provoked with max_page_count): events are
// held in memory, not lost; gateway.disk_low is raised once; when space returns, all are committed.
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeEvent, type Severity } from '../../agent/event.js';
import { COMMIT_CHUNK } from '../../agent/outbox/store.js';
import { outboxDb, testOutbox, testSource } from '../helpers/outbox.js';
import { waitFor } from '../helpers/ports.js';

const src = testSource;
const alarm = (n: number) =>
  makeEvent(src, {
    device: 'p',
    deviceType: 'panic-button',
    type: 'panic.pressed',
    data: { n, pad: 'x'.repeat(2000) },
  });

describe('outbox on a full disk', () => {
  it('holds alarms in memory, says so once, and commits every one when space returns', async () => {
    const o = testOutbox();
    const db = outboxDb(o);
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages + 2}`);

    const accepted: number[] = [];
    const pending = Array.from({ length: 20 }, (_, i) => o.accept(alarm(i)).then((e) => accepted.push(e.seq)));
    await waitFor(() => o.diskLow !== undefined, 5000, 'disk low');
    expect(o.diskLow?.error).toMatch(/SQLITE_FULL|full/i);
    expect(o.pendingInMemory).toBeGreaterThan(0);
    const seqBefore = o.lastSeq;

    db.pragma('max_page_count = 1073741823'); // space is back
    await Promise.all(pending);
    expect(o.diskLow).toBeUndefined();
    expect(o.pendingInMemory).toBe(0);
    expect(accepted).toHaveLength(20);
    expect(new Set(accepted).size).toBe(20);
    expect(o.lastSeq).toBeGreaterThanOrEqual(seqBefore + 20);

    const rows = o.nextBatch(100).map((r) => JSON.parse(r.payload) as { type: string; data: { n?: number } });
    expect(
      rows
        .filter((e) => e.type === 'panic.pressed')
        .map((e) => e.data.n)
        .sort((a, b) => (a ?? 0) - (b ?? 0)),
    ).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(rows.filter((e) => e.type === 'gateway.disk_low')).toHaveLength(1);
    await o.close();
  }, 20_000);

  it('holds 100,000 events within outbox.maxHeldEvents, never drops an alarm, and commits in chunks', async () => {
    const maxHeld = 10_000;
    const o = testOutbox({ maxHeldEvents: maxHeld });
    const db = outboxDb(o);
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);

    // 1 in 100 critical, 1 in 100 high, the rest telemetry: 2,000 alarms in 100,000 events.
    const sevOf = (i: number): Severity =>
      i % 100 === 0 ? 'critical' : i % 100 === 50 ? 'high' : i % 2 ? 'low' : 'normal';
    const outcome = { alarms: 0, telemetry: 0, dropped: { low: 0, normal: 0 }, other: 0 };
    const all: Promise<void>[] = [];
    let maxHeldSeen = 0;
    const TOTAL = 100_000;
    for (let i = 0; i < TOTAL; i += 1000) {
      for (let k = i; k < i + 1000; k++) {
        const severity = sevOf(k);
        const ev = makeEvent(src, {
          device: `p${k % 40}`,
          deviceType: 'panic-button',
          type: 'panic.pressed',
          severity,
          data: { k },
        });
        all.push(
          o.accept(ev).then(
            () => {
              if (severity === 'critical' || severity === 'high') outcome.alarms++;
              else outcome.telemetry++;
            },
            (err: { code?: string }) => {
              if (err.code === 'WG_ERR_OUTBOX_HELD_DROPPED' && (severity === 'low' || severity === 'normal'))
                outcome.dropped[severity]++;
              else outcome.other++;
            },
          ),
        );
      }
      maxHeldSeen = Math.max(maxHeldSeen, o.pendingInMemory);
      await new Promise((r) => setImmediate(r)); // the flush runs (and fails) between bursts
    }
    expect(o.diskLow).toBeDefined();
    // Memory bound: what is held never exceeds the bound plus the alarms (never dropped).
    expect(maxHeldSeen).toBeLessThanOrEqual(maxHeld);
    expect(o.heldDroppedTotal).toBeGreaterThanOrEqual(TOTAL - maxHeld);

    const heldBefore = o.pendingInMemory;
    const commits: number[] = [];
    o.onAccepted((accepted) => {
      if (accepted.length > 0) commits.push(accepted.length);
    });
    db.pragma('max_page_count = 1073741823'); // space is back
    await Promise.all(all);
    // The retry commits in chunks (plus the outbox's own announcements), never all in one.
    expect(Math.max(...commits)).toBeLessThanOrEqual(COMMIT_CHUNK + 3);
    expect(commits.length).toBeGreaterThanOrEqual(Math.ceil(heldBefore / COMMIT_CHUNK));
    expect(o.pendingInMemory).toBe(0);
    expect(outcome.other).toBe(0);
    expect(outcome.alarms).toBe(2_000); // every held alarm committed
    expect(outcome.dropped.low + outcome.dropped.normal).toBe(o.heldDroppedTotal);
    expect(outcome.telemetry + outcome.dropped.low + outcome.dropped.normal).toBe(TOTAL - 2_000);
    expect(outcome.dropped.low).toBeGreaterThan(outcome.dropped.normal); // low goes first

    const rows: Array<{ type: string; data: Record<string, unknown> }> = [];
    for (;;) {
      const b = o.nextBatch(5000);
      if (b.length === 0) break;
      for (const r of b) rows.push(JSON.parse(r.payload));
    }
    const held = rows.filter((e) => e.type === 'gateway.outbox_evicted');
    expect(held).toHaveLength(1);
    expect(held[0]?.data).toMatchObject({
      reason: 'held',
      count: o.heldDroppedTotal,
      ranges: [],
      lanes: { low: outcome.dropped.low, normal: outcome.dropped.normal },
    });
    expect(rows.filter((e) => e.type === 'gateway.disk_low')).toHaveLength(1);
    await o.close();
  }, 60_000);

  afterEach(() => {
    vi.useRealTimers();
  });

  it('a write lock held by another connection is contention, not a refusing disk: the alarm is retried within milliseconds, no disk_low', async () => {
    // Only timers are faked: SQLite is synchronous, and the commit itself runs in a microtask.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const o = testOutbox();
    const db = outboxDb(o);
    db.pragma('busy_timeout = 0'); // SQLITE_BUSY at once instead of blocking this thread
    const other = new Database(db.name);
    other.exec('BEGIN IMMEDIATE'); // e.g. the checkpoint worker's TRUNCATE holding the write lock
    let seq = 0;
    const pending = o.accept(alarm(1)).then((e) => {
      seq = e.seq;
    });
    await new Promise((r) => setImmediate(r)); // the microtask commit has run and found the lock taken
    expect(o.busyRetries).toBeGreaterThanOrEqual(1);
    expect(o.diskLow).toBeUndefined();
    expect(o.pendingInMemory).toBe(1);
    vi.advanceTimersByTime(50); // still locked: retried, still held, still no disk_low
    expect(o.busyRetries).toBeGreaterThan(1);
    expect(o.diskLow).toBeUndefined();
    expect(seq).toBe(0);

    other.exec('COMMIT');
    vi.advanceTimersByTime(10); // the next retry, not a second later
    await pending;
    expect(seq).toBeGreaterThan(0);
    expect(o.pendingInMemory).toBe(0);
    const types = o.nextBatch(100).map((r) => (JSON.parse(r.payload) as { type: string }).type);
    expect(types).toEqual(['panic.pressed']);
    other.close();
    await o.close();
  });

  it('contention that lasts is reported as a write failure after all', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const o = testOutbox();
    const db = outboxDb(o);
    db.pragma('busy_timeout = 0');
    const other = new Database(db.name);
    other.exec('BEGIN IMMEDIATE');
    const pending = o.accept(alarm(2));
    await new Promise((r) => setImmediate(r));
    vi.advanceTimersByTime(4000);
    expect(o.diskLow).toBeUndefined();
    vi.advanceTimersByTime(1500);
    expect(o.diskLow?.error).toMatch(/SQLITE_BUSY/);
    other.exec('COMMIT');
    vi.advanceTimersByTime(1000);
    await pending;
    const types = o.nextBatch(100).map((r) => (JSON.parse(r.payload) as { type: string }).type);
    expect(types.sort()).toEqual(['gateway.disk_low', 'panic.pressed']);
    other.close();
    await o.close();
  });

  it('a settle (deletes of acknowledged rows) that finds the write lock taken is retried after 20 ms, not a second', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const o = testOutbox();
    const db = outboxDb(o);
    await o.accept(alarm(3));
    const [row] = o.nextBatch(10);
    const count = () => (db.prepare('SELECT COUNT(*) AS n FROM events').get() as { n: number }).n;
    expect(count()).toBe(1);
    db.pragma('busy_timeout = 0');
    const other = new Database(db.name);
    other.exec('BEGIN IMMEDIATE');
    o.ack(row?.seq as number);
    vi.advanceTimersByTime(25); // the batched delete runs and finds the lock taken
    expect(count()).toBe(1);
    other.exec('COMMIT');
    vi.advanceTimersByTime(25); // retried within 20 ms
    expect(count()).toBe(0);
    other.close();
    await o.close();
  });
});
