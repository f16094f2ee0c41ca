// The central consumer's core (issue 15), on a fake clock: gateways emit events into lanes and
// drain each lane in seq order; some telemetry is evicted and announced (with ranges, or as held
// drops without ranges), some is lost on the way; the path duplicates and reorders (by less than
// the bounded wait). Whatever happens: every delivered event comes out exactly once, in seq order
// per gateway and lane, never late; each announced range is reported as announced; every lost seq
// below the highest delivered one is reported unexplained, and nothing else is.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CentralEvent, LANES, type Lane, type SeqOutput, Sequencer } from '../../agent/central/sequencer.js';
import { toRanges } from '../../agent/outbox/ranges.js';

const MAX_WAIT = 1000;
const GAP_TIMEOUT = 5000;

interface Plan {
  events: CentralEvent[];
  evicted: Set<string>;
  lost: Set<string>;
  announcedRanges: Array<[string, number, number]>;
  heldDrops: number;
}

type Step = { kind: 'event'; lane: Lane } | { kind: 'evict'; n: number } | { kind: 'held' } | { kind: 'lose' };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom(...LANES).map((lane) => ({ kind: 'event' as const, lane })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }).map((n) => ({ kind: 'evict' as const, n })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'held' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'lose' as const }) },
);

function build(gateways: Step[][]): Plan {
  const plan: Plan = { events: [], evicted: new Set(), lost: new Set(), announcedRanges: [], heldDrops: 0 };
  gateways.forEach((steps, gi) => {
    const gateway = `gw-${gi}`;
    let seq = 0;
    const mk = (severity: Lane, type = 'input.active', data: Record<string, unknown> = {}): CentralEvent => {
      const ev = { id: `${gateway}-${++seq}`, seq, gateway, severity, type, data };
      plan.events.push(ev);
      return ev;
    };
    mk('normal', 'gateway.started'); // seq 1 always arrives
    const evictable: CentralEvent[] = [];
    for (const s of steps) {
      if (s.kind === 'event') {
        const ev = mk(s.lane);
        if (s.lane === 'normal' || s.lane === 'low') evictable.push(ev);
      } else if (s.kind === 'lose') {
        const ev = mk('normal');
        plan.lost.add(ev.id);
      } else if (s.kind === 'held') {
        plan.heldDrops++;
        mk('high', 'gateway.outbox_evicted', { reason: 'held', count: 3, ranges: [], lanes: { low: 3, normal: 0 } });
      } else {
        const chosen = evictable.splice(0, s.n);
        if (chosen.length === 0) continue;
        for (const e of chosen) plan.evicted.add(e.id);
        const ranges = toRanges(chosen.map((e) => e.seq));
        for (const [a, b] of ranges) plan.announcedRanges.push([gateway, a, b]);
        mk('high', 'gateway.outbox_evicted', { reason: 'cap', count: chosen.length, ranges });
      }
    }
  });
  return plan;
}

describe('central sequencer (property)', () => {
  it('exactly once, in order per gateway and lane, gaps classified', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(stepArb, { maxLength: 40 }), { minLength: 1, maxLength: 4 }),
        fc.infiniteStream(fc.integer({ min: 0, max: MAX_WAIT - 1 })),
        fc.infiniteStream(fc.nat(9)),
        fc.infiniteStream(fc.integer({ min: 0, max: 2 })),
        (gws, delays, dupDice, pick) => {
          const plan = build(gws);
          // Send order: a random merge of each gateway's lanes, each lane in seq order (the drain).
          const queues = new Map<string, CentralEvent[]>();
          for (const ev of plan.events) {
            if (plan.evicted.has(ev.id)) continue;
            const k = `${ev.gateway}/${ev.severity}`;
            queues.set(k, [...(queues.get(k) ?? []), ev]);
          }
          const sends: CentralEvent[] = [];
          const keys = [...queues.keys()];
          while (keys.length > 0) {
            const i = (pick.next().value as number) % keys.length;
            const q = queues.get(keys[i] as string) as CentralEvent[];
            sends.push(q.shift() as CentralEvent);
            if (q.length === 0) keys.splice(i, 1);
          }
          const arrivals: Array<{ at: number; ev: CentralEvent }> = [];
          sends.forEach((ev, i) => {
            if (plan.lost.has(ev.id)) return;
            const at = i * 10 + (delays.next().value as number);
            arrivals.push({ at, ev });
            if ((dupDice.next().value as number) < 2)
              arrivals.push({ at: at + (delays.next().value as number) * 3, ev: { ...ev } });
          });
          arrivals.sort((a, b) => a.at - b.at);

          const seqr = new Sequencer({ maxWaitMs: MAX_WAIT, gapTimeoutMs: GAP_TIMEOUT, fromSeqOne: true });
          const out: SeqOutput[] = [];
          let now = 0;
          for (const a of arrivals) {
            while (now + 100 <= a.at) {
              now += 100;
              out.push(...seqr.tick(now));
            }
            now = a.at;
            out.push(...seqr.receive(a.ev, now));
          }
          for (let i = 0; i < 100; i++) {
            now += 100;
            out.push(...seqr.tick(now));
          }

          const released = out.filter((o) => o.kind === 'event');
          const delivered = plan.events.filter((e) => !plan.evicted.has(e.id) && !plan.lost.has(e.id));
          expect(released.map((o) => o.event.id).sort()).toEqual(delivered.map((e) => e.id).sort());
          expect(released.filter((o) => o.late || o.possibleDuplicate)).toEqual([]);
          const lastOf = new Map<string, number>();
          for (const o of released) {
            const k = `${o.gateway}/${o.lane}`;
            expect(o.seq).toBeGreaterThan(lastOf.get(k) ?? 0);
            lastOf.set(k, o.seq);
          }
          const announced = out.flatMap((o) => (o.kind === 'gap' && o.status === 'announced' ? [o] : []));
          expect(announced.map((o) => [o.gateway, o.from, o.to]).sort()).toEqual([...plan.announcedRanges].sort());
          expect(out.filter((o) => o.kind === 'dropped')).toHaveLength(plan.heldDrops);
          // Lost seqs above the last delivered one of their gateway cannot be seen by anyone.
          const maxDelivered = new Map<string, number>();
          for (const e of delivered) maxDelivered.set(e.gateway, Math.max(maxDelivered.get(e.gateway) ?? 0, e.seq));
          const expectLost = plan.events
            .filter((e) => plan.lost.has(e.id) && e.seq < (maxDelivered.get(e.gateway) ?? 0))
            .map((e) => `${e.gateway}/${e.seq}`)
            .sort();
          const gotLost = out
            .flatMap((o) =>
              o.kind === 'gap' && o.status === 'unexplained'
                ? Array.from({ length: o.to - o.from + 1 }, (_, i) => `${o.gateway}/${o.from + i}`)
                : [],
            )
            .sort();
          expect(gotLost).toEqual(expectLost);
          expect(seqr.heldCount()).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('two $share members (partial): together exactly once, each in order per gateway and lane, no gaps claimed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(stepArb, { maxLength: 40 }), { minLength: 1, maxLength: 3 }),
        fc.infiniteStream(fc.integer({ min: 0, max: MAX_WAIT - 1 })),
        fc.infiniteStream(fc.boolean()),
        (gws, delays, member) => {
          const plan = build(gws);
          const sent = plan.events.filter((e) => !plan.evicted.has(e.id) && !plan.lost.has(e.id));
          // The broker hands each message to one member; the path reorders within the wait.
          const arrivals = sent.map((ev, i) => ({
            at: i * 10 + (delays.next().value as number),
            ev,
            to: (member.next().value as boolean) ? 0 : 1,
          }));
          arrivals.sort((a, b) => a.at - b.at);
          const members = [0, 1].map(() => new Sequencer({ maxWaitMs: MAX_WAIT, partial: true, fromSeqOne: true }));
          const outs: SeqOutput[][] = [[], []];
          let now = 0;
          const tickAll = (t: number) => {
            members.forEach((m, i) => {
              outs[i]?.push(...m.tick(t));
            });
          };
          for (const a of arrivals) {
            while (now + 100 <= a.at) {
              now += 100;
              tickAll(now);
            }
            now = a.at;
            outs[a.to]?.push(...(members[a.to] as Sequencer).receive(a.ev, now));
          }
          for (let i = 0; i < 30; i++) {
            now += 100;
            tickAll(now);
          }
          const ids = outs.flatMap((o) => o.flatMap((r) => (r.kind === 'event' ? [r.event.id] : [])));
          expect(ids.sort()).toEqual(sent.map((e) => e.id).sort());
          for (const o of outs) {
            expect(o.filter((r) => r.kind === 'gap' && r.status === 'unexplained')).toEqual([]);
            const last = new Map<string, number>();
            for (const r of o) {
              if (r.kind !== 'event') continue;
              expect(r.late).toBeUndefined();
              expect(r.seq).toBeGreaterThan(last.get(`${r.gateway}/${r.lane}`) ?? 0);
              last.set(`${r.gateway}/${r.lane}`, r.seq);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
