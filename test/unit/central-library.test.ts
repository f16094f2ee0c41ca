// The central consumer library's parts one by one (issue 15): seq runs, the cases the property test
// does not reach (a consumer joining a running site, quarantine jumps, late arrivals, the bounded
// window, `$share` members), the journal across a kill, presence, topics.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Journal } from '../../agent/central/journal.js';
import { Presence } from '../../agent/central/presence.js';
import { RangeSet } from '../../agent/central/range-set.js';
import { type CentralEvent, type SeqOutput, Sequencer } from '../../agent/central/sequencer.js';
import { globToRegExp, parseTopic } from '../../agent/central/topics.js';
import { tempDir } from '../helpers/config.js';

const ev = (
  seq: number,
  severity = 'normal',
  type = 'input.active',
  data: Record<string, unknown> = {},
  gateway = 'gw',
) => ({ id: `${gateway}-${seq}`, seq, gateway, severity, type, data }) as CentralEvent;
const seqsOf = (out: SeqOutput[]) => out.flatMap((o) => (o.kind === 'event' ? [o.seq] : []));
const gaps = (out: SeqOutput[]) => out.filter((o) => o.kind === 'gap');

describe('RangeSet', () => {
  it('holds exactly the seqs added and not removed (against a Set)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 5 }))),
        (ops) => {
          const r = new RangeSet();
          const model = new Set<number>();
          for (const [add, from, len] of ops) {
            if (add) r.add(from, from + len);
            else r.remove(from, from + len);
            for (let s = from; s <= from + len; s++) add ? model.add(s) : model.delete(s);
          }
          for (let s = 0; s <= 70; s++) expect(r.has(s)).toBe(model.has(s));
          const missing = r.missing(1, 66).flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));
          expect(missing).toEqual(Array.from({ length: 66 }, (_, i) => i + 1).filter((s) => !model.has(s)));
          // Disjoint, sorted, never touching (merged).
          for (let i = 1; i < r.runs.length; i++)
            expect((r.runs[i] as [number, number])[0]).toBeGreaterThan((r.runs[i - 1] as [number, number])[1] + 1);
        },
      ),
    );
  });
});

describe('Sequencer', () => {
  it('a consumer joining a running site: lower seqs of slower lanes are not gaps; a real hole after the start is', () => {
    const s = new Sequencer({ maxWaitMs: 100, gapTimeoutMs: 1000 });
    const out = [...s.receive(ev(100, 'critical'), 0), ...s.receive(ev(98), 10), ...s.receive(ev(99), 20)];
    out.push(...s.receive(ev(102, 'critical'), 30), ...s.tick(2000));
    expect(seqsOf(out)).toEqual([100, 98, 99, 102]);
    expect(gaps(out)).toEqual([{ kind: 'gap', gateway: 'gw', status: 'unexplained', from: 101, to: 101 }]);
  });

  it('alarms wait for a missing lower seq at most maxWaitMs', () => {
    const s = new Sequencer({ maxWaitMs: 100, gapTimeoutMs: 10_000, fromSeqOne: true });
    expect(seqsOf(s.receive(ev(1), 0))).toEqual([1]);
    expect(seqsOf(s.receive(ev(3, 'critical'), 10))).toEqual([]);
    expect(seqsOf(s.tick(109))).toEqual([]);
    expect(seqsOf(s.tick(110))).toEqual([3]);
    // The missing seq comes later, in its own (normal) lane: released, not late.
    const late = s.receive(ev(2), 500);
    expect(late).toMatchObject([{ kind: 'event', seq: 2 }]);
    expect(late[0]).not.toHaveProperty('late');
  });

  it('an event after its gap was called unexplained is released flagged late; an eviction after it reclassifies', () => {
    const s = new Sequencer({ maxWaitMs: 10, gapTimeoutMs: 100, fromSeqOne: true });
    s.receive(ev(1), 0);
    s.receive(ev(4), 1);
    expect(gaps(s.tick(200))).toEqual([{ kind: 'gap', gateway: 'gw', status: 'unexplained', from: 2, to: 3 }]);
    expect(s.receive(ev(2), 300)).toMatchObject([{ kind: 'event', seq: 2, late: true }]);
    const ann = s.receive(ev(5, 'high', 'gateway.outbox_evicted', { reason: 'cap', count: 1, ranges: [[3, 3]] }), 400);
    expect(gaps(ann)).toEqual([
      {
        kind: 'gap',
        gateway: 'gw',
        status: 'announced',
        from: 3,
        to: 3,
        reason: 'cap',
        by: 'gw-5',
        wasUnexplained: true,
      },
    ]);
  });

  it('a quarantine jump is announced; held drops are reported without seqs', () => {
    const s = new Sequencer({ maxWaitMs: 10, gapTimeoutMs: 100, fromSeqOne: true });
    s.receive(ev(1), 0);
    s.receive(ev(2), 0);
    const q = s.receive(ev(10_001, 'high', 'gateway.outbox_quarantined', { seqContinuesAfter: 10_000 }), 5);
    expect(gaps(q)).toEqual([
      { kind: 'gap', gateway: 'gw', status: 'announced', from: 3, to: 10_000, reason: 'quarantined', by: 'gw-10001' },
    ]);
    const held = s.receive(
      ev(10_002, 'high', 'gateway.outbox_evicted', {
        reason: 'held',
        count: 4,
        ranges: [],
        lanes: { low: 4, normal: 0 },
      }),
      6,
    );
    expect(held.filter((o) => o.kind === 'dropped')).toEqual([
      { kind: 'dropped', gateway: 'gw', reason: 'held', count: 4, lanes: { low: 4, normal: 0 }, by: 'gw-10002' },
    ]);
    expect(gaps(s.tick(1000))).toEqual([]);
  });

  it('memory is bounded: a window of seqs, runs not entries; older arrivals are passed on flagged', () => {
    const s = new Sequencer({ maxWaitMs: 10, gapTimeoutMs: 100, windowSeqs: 1000, fromSeqOne: true });
    for (let q = 1; q <= 50_000; q++) if (q % 100 !== 0) s.receive(ev(q), q);
    s.tick(1_000_000);
    const snap = s.snapshot() as { gateways: { gw: { received: unknown[]; lost: unknown[] } } };
    expect(snap.gateways.gw.received.length).toBeLessThanOrEqual(11);
    expect(snap.gateways.gw.lost.length).toBeLessThanOrEqual(11);
    expect(s.receive(ev(5), 1_000_001)).toMatchObject([{ kind: 'event', seq: 5, possibleDuplicate: true }]);
    expect(s.receive(ev(49_999), 1_000_002)).toEqual([]); // a duplicate inside the window
  });

  it('a $share member (partial) orders what it sees and reports no gaps for what the others got', () => {
    const s = new Sequencer({ maxWaitMs: 50, gapTimeoutMs: 100, partial: true, fromSeqOne: true });
    const out = [...s.receive(ev(1), 0), ...s.receive(ev(4), 1), ...s.receive(ev(3), 2)];
    out.push(...s.tick(60), ...s.receive(ev(7), 70), ...s.tick(200), ...s.tick(10_000));
    expect(seqsOf(out)).toEqual([1, 3, 4, 7]);
    expect(gaps(out)).toEqual([]);
  });
});

describe('Journal', () => {
  it('a killed consumer comes back with the same dedup and held state; held events are released once', () => {
    const dir = tempDir('wg-journal-');
    const a = new Sequencer({ maxWaitMs: 100, gapTimeoutMs: 10_000, fromSeqOne: true });
    const ja = new Journal(dir, 'c');
    ja.load(a);
    const printed: number[] = [];
    const feed = (seqr: Sequencer, j: Journal, e: CentralEvent, now: number) => {
      printed.push(...seqsOf(seqr.receive(e, now)));
      j.record(now, e, JSON.stringify(e), seqr); // short lines for 1 and 2, whole ones for the held
      j.flush();
    };
    for (const q of [1, 2, 4, 5]) feed(a, ja, ev(q), q);
    ja.snapshot(a); // a compaction in the middle
    feed(a, ja, ev(7, 'high'), 10);
    expect(printed).toEqual([1, 2]); // 4, 5 and 7 wait for 3 and 6
    // Killed here (no close). A new process: same state, nothing printed twice, nothing lost.
    const b = new Sequencer({ maxWaitMs: 100, gapTimeoutMs: 10_000, fromSeqOne: true });
    const jb = new Journal(dir, 'c');
    expect(jb.load(b).replayed).toBe(1);
    expect(b.heldCount()).toBe(3);
    expect(b.snapshot()).toEqual(a.snapshot());
    for (const q of [2, 4]) feed(b, jb, ev(q), 20); // redeliveries of what the first one printed or held
    feed(b, jb, ev(3), 30);
    feed(b, jb, ev(6), 31);
    // Each once; 7 (high) goes as soon as 6 is no longer missing, before 6 in its normal lane.
    expect(printed).toEqual([1, 2, 3, 4, 5, 7, 6]);
    jb.close(b);
  });
});

describe('Journal short lines', () => {
  it('events released at once replay from (gateway, seq, severity) alone to the same state', () => {
    const dir = tempDir('wg-journal-');
    const a = new Sequencer({ fromSeqOne: true });
    const j = new Journal(dir, 'c');
    j.load(a);
    for (const q of [1, 2, 3, 5]) {
      const e = ev(q, q === 5 ? 'critical' : 'normal');
      a.receive(e, q);
      j.record(q, e, JSON.stringify(e), a);
      j.flush();
    }
    const b = new Sequencer({ fromSeqOne: true });
    expect(new Journal(dir, 'c').load(b).replayed).toBe(4);
    expect(b.snapshot()).toEqual(a.snapshot());
    expect(b.receive(ev(3), 10)).toEqual([]); // still a duplicate after the replay
  });
});

describe('Presence and topics', () => {
  it('online, offline by the will, stale when health stops, online again', () => {
    const p = new Presence(1000);
    const t0 = Date.parse('2026-12-01T00:00:00Z');
    expect(p.update('gw', 'status', { state: 'online' }, t0)).toMatchObject([{ state: 'online' }]);
    expect(p.update('gw', 'health', { ts: new Date(t0).toISOString() }, t0)).toEqual([]);
    expect(p.check(t0 + 999)).toEqual([]);
    expect(p.check(t0 + 1500)).toMatchObject([{ gateway: 'gw', state: 'stale', reason: 'no health for 2 s' }]);
    expect(p.update('gw', 'health', { ts: new Date(t0 + 1600).toISOString() }, t0 + 1600)).toMatchObject([
      { state: 'online' },
    ]);
    expect(p.update('gw', 'status', { state: 'offline', reason: 'connection lost' }, t0 + 1700)).toEqual([
      { kind: 'gateway', gateway: 'gw', state: 'offline', reason: 'connection lost' },
    ]);
  });

  it('parses the contract topics and filters gateways by glob', () => {
    expect(parseTopic('wardgate/v1', 'wardgate/v1/ward-3b/events/panic-button/p1')).toEqual({
      gateway: 'ward-3b',
      kind: 'event',
      device: 'p1',
    });
    expect(parseTopic('wardgate/v1', 'wardgate/v1/ward-3b/status')).toEqual({ gateway: 'ward-3b', kind: 'status' });
    expect(parseTopic('wardgate/v1', 'wardgate/v1/ward-3b/cmd-result/p1')).toMatchObject({ kind: 'cmd-result' });
    expect(parseTopic('wardgate/v1', 'wardgate/v1/ward-3b/state/p1')).toBeUndefined();
    expect(parseTopic('wardgate/v1', 'other/ward-3b/status')).toBeUndefined();
    const g = globToRegExp('ward-*.b?');
    expect(['ward-3.b1', 'ward-.bx'].every((x) => g.test(x))).toBe(true);
    expect(['ward-3xb1', 'xward-3.b1', 'ward-3.b12'].some((x) => g.test(x))).toBe(false);
  });
});
