// A disk that refuses writes (SQLite's own SQLITE_FULL, provoked with max_page_count): events are
// held in memory, not lost; gateway.disk_low is raised once; when space returns, all are committed.
import type Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../agent/event.js';
import { createLogger } from '../../agent/log.js';
import { Outbox } from '../../agent/outbox/store.js';
import { tempDir } from '../helpers/config.js';
import { waitFor } from '../helpers/ports.js';

const src = { gateway: 'g', site: 's', clockSynced: () => true };
const alarm = (n: number) =>
  makeEvent(src, {
    device: 'p',
    deviceType: 'panic-button',
    type: 'panic.pressed',
    data: { n, pad: 'x'.repeat(2000) },
  });

describe('outbox on a full disk', () => {
  it('holds alarms in memory, says so once, and commits every one when space returns', async () => {
    const o = new Outbox({
      dataDir: tempDir(),
      maxBytes: 1e9,
      checkpointIntervalMs: 0,
      log: createLogger('fatal'),
      gatewayEvent: (i) => makeEvent(src, { ...i, device: 'g', deviceType: 'gateway' }),
      topicOf: (e) => `events/${e.deviceType}/${e.device}`,
    });
    const db = (o as unknown as { db: Database.Database }).db;
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
});
