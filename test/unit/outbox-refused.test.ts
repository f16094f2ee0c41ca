// What the outbox does with each publish outcome the drain reports (issue 7 item 1 and the minor
// ones): a refused row frees its slot at once, is kept (marked) on disk, counted, announced once
// per topic, and offered again only behind every row the broker takes; a retry-later row holds its
// lane briefly; rows sent on a dropped connection stay protected from eviction; a re-stamped
// payload is stored. The same paths against a real Mosquitto ACL: test/integration/refused-publish.
import type Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { makeEvent, type Severity, type WgEvent } from '../../agent/event.js';
import { createLogger } from '../../agent/log.js';
import { reasonCodeOf, refusalKind } from '../../agent/outbox/refused.js';
import { Outbox } from '../../agent/outbox/store.js';
import { tempDir } from '../helpers/config.js';
import { waitFor } from '../helpers/ports.js';

const src = { gateway: 'g', site: 's', clockSynced: () => true };
const press = (device: string, severity: Severity = 'critical') =>
  makeEvent(src, { device, deviceType: 'panic-button', type: 'panic.pressed', severity, data: {} });

function open(opts: { maxAgeMs?: Partial<Record<Severity, number>> } = {}) {
  const own: WgEvent[] = [];
  const logs: Array<{ level: number; code?: string; topic?: string; msg: string }> = [];
  const o = new Outbox({
    dataDir: tempDir(),
    maxBytes: 1e9,
    checkpointIntervalMs: 0,
    log: createLogger('warn', { write: (line: string) => void logs.push(JSON.parse(line)) }),
    gatewayEvent: (i) => makeEvent(src, { ...i, device: 'g', deviceType: 'gateway' }),
    topicOf: (e) => `events/${e.deviceType}/${e.device}`,
    fullTopic: (s) => `wardgate/v1/g/${s}`,
    onOwnEvent: (e) => own.push(e),
    ...opts,
  });
  return { o, own, logs };
}

const settled = (o: Outbox) => waitFor(() => o.inflightCount === 0, 5000, 'settled');

describe('refused publishes', () => {
  it('classifies PUBACK reason codes and finds them in the uplink error', () => {
    for (const c of [0x80, 0x83, 0x87, 0x90, 0x95, 0x99]) expect(refusalKind(c)).toBe('permanent');
    for (const c of [0x97, 0x89]) expect(refusalKind(c)).toBe('later');
    expect(refusalKind(0x10)).toBeUndefined(); // "no matching subscribers" is a success
    expect(reasonCodeOf({ code: 'WG_ERR_UPLINK_PUBLISH', cause: { code: 0x87 } })).toBe(0x87);
    expect(reasonCodeOf(new Error('connection closed'))).toBeUndefined();
  });

  it('frees the slots at once, keeps and counts the rows, announces once per topic, and lets another device through', async () => {
    const { o, own, logs } = open();
    const window = 4;
    await Promise.all(Array.from({ length: 20 }, () => o.accept(press('forbidden'))));
    // The window fills with refused rows and empties at once: nothing clogs it.
    for (let round = 0; round < 5; round++) {
      const rows = o.nextBatch(window - o.inflightCount);
      expect(rows).toHaveLength(window);
      for (const r of rows) o.refuse(r.seq, 0x87);
      expect(o.inflightCount).toBe(0);
    }
    await o.accept(press('allowed'));
    // An alarm commits at once (issue 13), possibly before the refusals' settle: wait for that too.
    await waitFor(() => own.some((e) => e.type === 'gateway.publish_rejected'), 5000, 'the announcement');
    const next = o.nextBatch(window);
    // The alarm from the allowed device first, then the announcement (high); no refused row.
    expect(next.map((r) => r.topic)).toEqual(['events/panic-button/allowed', 'events/gateway/g']);
    for (const r of next) o.ack(r.seq);
    await waitFor(() => o.refusedRows === 20 && o.depth === 20, 5000, 'marks committed');

    const announced = own.filter((e) => e.type === 'gateway.publish_rejected');
    expect(announced).toHaveLength(1);
    expect(announced[0]?.data).toMatchObject({
      topic: 'wardgate/v1/g/events/panic-button/forbidden',
      reasonCode: 0x87,
      reason: 'not authorized',
      critical: true,
    });
    const data = announced[0]?.data as { seqFrom: number; seqTo: number; count: number };
    expect(data.seqTo - data.seqFrom).toBeGreaterThanOrEqual(window - 1);
    expect(o.stats()[0]).toMatchObject({ lane: 'critical', refused: 20 });
    expect(o.refusals.list()).toMatchObject([{ reasonCode: 0x87, critical: true }]);
    // A refused critical row is logged at error, once per topic, with its code.
    expect(logs.filter((l) => l.code === 'WG_ERR_UPLINK_PUBLISH_REFUSED')).toMatchObject([
      { level: 50, topic: 'wardgate/v1/g/events/panic-button/forbidden' },
    ]);
    const db = (o as unknown as { db: Database.Database }).db;
    expect(db.prepare('SELECT COUNT(*) AS n FROM events WHERE refused = 135').get()).toEqual({ n: 20 });

    // A retry round offers refused rows only after every lane's rows; refused again: not re-announced.
    await settled(o);
    await o.accept(press('allowed', 'low'));
    o.retryRefused();
    const mixed = o.nextBatch(window);
    expect(mixed[0]?.topic).toBe('events/panic-button/allowed'); // the low row before refused criticals
    expect(mixed.slice(1).every((r) => r.topic === 'events/panic-button/forbidden')).toBe(true);
    o.ack(mixed[0]?.seq as number);
    for (const r of mixed.slice(1)) o.refuse(r.seq, 0x87);
    await settled(o);
    expect(own.filter((e) => e.type === 'gateway.publish_rejected')).toHaveLength(1);

    // The ACL is fixed: the rest of the round and the next one take every refused row.
    for (;;) {
      const rows = o.nextBatch(window);
      if (rows.length === 0) break;
      for (const r of rows) o.ack(r.seq);
    }
    await settled(o);
    o.retryRefused();
    for (;;) {
      const rows = o.nextBatch(window);
      if (rows.length === 0) break;
      for (const r of rows) o.ack(r.seq);
    }
    await waitFor(() => o.depth === 0, 5000, 'all refused rows went out');
    expect(o.refusedRows).toBe(0);
    expect(o.refusals.list()).toEqual([]);
    await o.close();
  });

  it('retry later: holds the lane briefly and sends the row again, unmarked, while other lanes go on', async () => {
    const { o } = open();
    const [a] = await Promise.all([o.accept(press('busy', 'normal')), o.accept(press('busy', 'normal'))]);
    const first = o.nextBatch(1);
    expect(first[0]?.seq).toBe(a?.seq);
    o.defer(first[0]?.seq as number, 0x97);
    expect(o.inflightCount).toBe(0);
    expect(o.nextBatch(10)).toEqual([]); // the normal lane holds
    await o.accept(press('other', 'critical'));
    expect(o.nextBatch(10).map((r) => r.topic)).toEqual(['events/panic-button/other']);
    const again = await (async () => {
      let rows: ReturnType<Outbox['nextBatch']> = [];
      await waitFor(
        () => {
          rows = o.nextBatch(10);
          return rows.length > 0;
        },
        5000,
        'lane hold ends',
      );
      return rows;
    })();
    expect(again.map((r) => r.seq)).toEqual([a?.seq, (a?.seq as number) + 1]);
    expect(o.refusedRows).toBe(0);
    expect(o.refusals.deferredTotal).toBe(1);
    await o.close();
  });
});

describe('rows sent on a dropped connection', () => {
  it('stay protected from eviction until sent again and acknowledged', async () => {
    const { o } = open({ maxAgeMs: { low: 1 } });
    await Promise.all([1, 2, 3].map(() => o.accept(press('t', 'low'))));
    const sent = o.nextBatch(2);
    o.rewind(); // the connection dropped before any PUBACK
    expect(o.evictByAge(Date.now() + 1000)).toBe(1); // only the row never sent
    const resent = o.nextBatch(10).filter((r) => r.lane === 3);
    expect(resent.map((r) => r.seq)).toEqual(sent.map((r) => r.seq));
    for (const r of resent) o.ack(r.seq);
    await waitFor(() => o.depth === 1, 5000, 'deleted'); // the eviction announcement (in flight) remains
    await o.close();
  });
});

describe('re-stamped payloads', () => {
  it('are stored, so every later copy is the same', async () => {
    const { o } = open();
    const e = await o.accept(press('r'));
    const [row] = o.nextBatch(1);
    const restamped = JSON.stringify({ ...JSON.parse(row?.payload as string), ts: '2026-01-01T00:00:00.000Z' });
    o.restamped(e.seq, restamped);
    o.rewind(); // settles, and the row goes out again
    const [again] = o.nextBatch(1);
    expect(again).toMatchObject({ seq: e.seq, payload: restamped, unsynced: 0 });
    await o.close();
  });
});
