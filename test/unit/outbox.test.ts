// The outbox on its own: durability boundaries, seq across reopen, lane order, eviction ranges
// (property-tested), and the in-flight bookkeeping the drain relies on.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeEvent, type NewEvent, type Severity } from '../../agent/event.js';
import { createLogger } from '../../agent/log.js';
import { rangesContain, toRanges } from '../../agent/outbox/ranges.js';
import { Outbox } from '../../agent/outbox/store.js';
import { tempDir } from '../helpers/config.js';

const src = { gateway: 'g', site: 's', clockSynced: () => true };
const ev = (severity: Severity, n = 0): NewEvent =>
  makeEvent(src, { device: `d${n}`, deviceType: 'panic-button', type: 'panic.pressed', severity, data: { n } });

function open(dataDir: string, maxBytes = 1e9): Outbox {
  return new Outbox({
    dataDir,
    maxBytes,
    checkpointIntervalMs: 0,
    log: createLogger('fatal'),
    gatewayEvent: (i) => makeEvent(src, { ...i, device: 'g', deviceType: 'gateway' }),
    topicOf: (e) => `events/${e.deviceType}/${e.device}`,
  });
}

describe('outbox', () => {
  it('gives consecutive seqs that survive a reopen and are never reused', async () => {
    const dir = tempDir();
    const a = open(dir);
    const first = await Promise.all([ev('low'), ev('critical'), ev('normal')].map((e) => a.accept(e)));
    expect(first.map((e) => e.seq)).toEqual([1, 2, 3]);
    for (const r of a.nextBatch(10)) a.ack(r.seq);
    await a.close();
    const b = open(dir);
    expect(b.depth).toBe(0);
    expect((await b.accept(ev('high'))).seq).toBe(4);
    await b.close();
  });

  it('drains critical before high before normal before low, by seq within a lane', async () => {
    const o = open(tempDir());
    const sev: Severity[] = ['low', 'normal', 'critical', 'high', 'low', 'critical', 'normal', 'high'];
    await Promise.all(sev.map((s, i) => o.accept(ev(s, i))));
    const rows = o.nextBatch(100);
    expect(rows.map((r) => [r.lane, r.seq])).toEqual([
      [0, 3],
      [0, 6],
      [1, 4],
      [1, 8],
      [2, 2],
      [2, 7],
      [3, 1],
      [3, 5],
    ]);
    await o.close();
  });

  it('resends unacknowledged rows after a rewind, and not the acknowledged ones', async () => {
    const o = open(tempDir());
    await Promise.all([1, 2, 3, 4].map((n) => o.accept(ev('high', n))));
    const batch = o.nextBatch(2);
    expect(o.inflightCount).toBe(2);
    o.ack(batch[0]?.seq as number);
    o.rewind();
    expect(o.nextBatch(10).map((r) => r.seq)).toEqual([2, 3, 4]);
    await o.close();
  });

  it('keeps the depth counters right across a reopen', async () => {
    const dir = tempDir();
    const a = open(dir);
    await Promise.all([ev('critical'), ev('low'), ev('low')].map((e) => a.accept(e)));
    await a.close();
    const b = open(dir);
    expect(b.stats().map((l) => l.depth)).toEqual([1, 0, 0, 2]);
    await b.close();
  });

  it('property: eviction never drops critical/high, and its ranges are exactly the missing seqs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<Severity>('critical', 'high', 'normal', 'low'), { minLength: 20, maxLength: 200 }),
        fc.integer({ min: 4, max: 40 }),
        async (severities, capKiB) => {
          const o = open(tempDir(), capKiB * 1024);
          const accepted = new Map<number, Severity>();
          for (const chunk of [severities.slice(0, 50), severities.slice(50, 120), severities.slice(120)]) {
            const got = await Promise.all(chunk.map((s, i) => o.accept(ev(s, i))));
            for (const e of got) accepted.set(e.seq, e.severity);
          }
          const remaining = new Map<number, string>();
          for (;;) {
            const rows = o.nextBatch(500);
            if (rows.length === 0) break;
            for (const r of rows) remaining.set(r.seq, r.payload);
          }
          const ranges = [...remaining.values()]
            .map((p) => JSON.parse(p))
            .filter((e) => e.type === 'gateway.outbox_evicted')
            .flatMap((e) => e.data.ranges as Array<[number, number]>);
          const missing = [...accepted.keys()].filter((s) => !remaining.has(s));
          await o.close();
          expect(missing.filter((s) => !rangesContain(ranges, s))).toEqual([]);
          const announced = ranges.reduce((n, [a, b]) => n + b - a + 1, 0);
          expect(announced).toBe(missing.length);
          expect(missing.map((s) => accepted.get(s)).filter((s) => s === 'critical' || s === 'high')).toEqual([]);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('rejects accepts after close instead of pretending', async () => {
    const o = open(tempDir());
    await o.close();
    await expect(o.accept(ev('critical'))).rejects.toMatchObject({ code: 'WG_ERR_OUTBOX_CLOSED' });
  });
});

describe('seq ranges', () => {
  it('property: toRanges covers exactly the given seqs with disjoint sorted runs', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 500 }), { maxLength: 100 }), (seqs) => {
        const ranges = toRanges(seqs);
        for (const s of seqs) expect(rangesContain(ranges, s)).toBe(true);
        expect(ranges.reduce((n, [a, b]) => n + b - a + 1, 0)).toBe(seqs.length);
        for (let i = 1; i < ranges.length; i++)
          expect((ranges[i]?.[0] ?? 0) > (ranges[i - 1]?.[1] ?? 0) + 1).toBe(true);
      }),
    );
  });
});

describe('outbox over its cap with alarms only', () => {
  it('keeps every alarm and raises gateway.disk_low once', async () => {
    const o = open(tempDir(), 4096);
    const got = await Promise.all(Array.from({ length: 40 }, (_, i) => o.accept(ev(i % 2 ? 'critical' : 'high', i))));
    await Promise.all(Array.from({ length: 10 }, (_, i) => o.accept(ev('critical', 100 + i))));
    const rows: string[] = [];
    for (;;) {
      const b = o.nextBatch(100);
      if (b.length === 0) break;
      rows.push(...b.map((r) => r.payload));
    }
    const events = rows.map((p) => JSON.parse(p));
    expect(events.filter((e) => e.type === 'panic.pressed')).toHaveLength(50);
    expect(got.every((e) => events.some((x) => x.id === e.id))).toBe(true);
    const low = events.filter((e) => e.type === 'gateway.disk_low');
    expect(low).toHaveLength(1);
    expect(low[0].data).toMatchObject({ reason: 'cap', maxBytes: 4096 });
    expect(o.alarmsOverCap).toBe(true);
    await o.close();
  });
});
