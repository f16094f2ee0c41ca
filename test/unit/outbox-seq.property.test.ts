// seq never goes back (issue 7 item 4): whatever happens to the files — a crash, a quarantined
// database, the database removed by hand, a kill between the two renames of a quarantine (the
// database moved, its WAL not), the reservation file lost — every seq the outbox hands out is
// above every seq it handed out before, across restarts.
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeEvent, type Severity } from '../../agent/event.js';
import { createLogger } from '../../agent/log.js';
import { Outbox } from '../../agent/outbox/store.js';
import { tempDir } from '../helpers/config.js';

const src = { gateway: 'g', site: 's', clockSynced: () => true };
const SEVS: Severity[] = ['critical', 'high', 'normal', 'low'];

type Op =
  | { op: 'accept'; sevs: Severity[] }
  | { op: 'ack'; n: number }
  | { op: 'evict' }
  | { op: 'crash' }
  | { op: 'restart' }
  | { op: 'quarantine' }
  | { op: 'deleteDb' }
  | { op: 'halfQuarantine' }
  | { op: 'loseReservation' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('accept' as const),
      sevs: fc.array(fc.constantFrom(...SEVS), { minLength: 1, maxLength: 20 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('ack' as const), n: fc.integer({ min: 1, max: 30 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'evict' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'crash' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'restart' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'quarantine' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'deleteDb' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'halfQuarantine' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'loseReservation' as const }) },
);

function open(dir: string): Outbox {
  const o = new Outbox({
    dataDir: dir,
    maxBytes: 1e9,
    maxAgeMs: { normal: 1, low: 1 },
    checkpointIntervalMs: 0,
    log: createLogger('silent'),
    gatewayEvent: (i) => makeEvent(src, { ...i, device: 'g', deviceType: 'gateway' }),
    topicOf: (e) => `events/${e.deviceType}/${e.device}`,
  });
  o.ackBatch = 1; // deletes settle on the next turn, no timer
  return o;
}

const tick = () => new Promise((r) => setImmediate(r));

describe('seq across restarts', () => {
  it('property: strictly increasing whatever files go missing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 4, maxLength: 25 }), async (ops) => {
        const dir = tempDir();
        const db = join(dir, 'outbox.db');
        let o = open(dir);
        const seen: number[] = []; // every seq handed to a caller, in the order they were handed out
        // Every seq ever stored (the outbox's own events included) belongs to one event id only.
        const idOf = new Map<number, string>();
        const claim = (seq: number, id: string) => {
          const had = idOf.get(seq);
          if (had !== undefined && had !== id) expect.fail(`seq ${seq} reused: ${had} then ${id}`);
          idOf.set(seq, id);
        };
        const snapshot = () => {
          for (;;) {
            const rows = o.nextBatch(1000);
            if (rows.length === 0) break;
            for (const r of rows) claim(r.seq, (JSON.parse(r.payload) as { id: string }).id);
          }
          o.rewind();
        };
        try {
          for (const op of ops) {
            switch (op.op) {
              case 'accept': {
                const got = await Promise.all(
                  op.sevs.map((s, i) =>
                    o.accept(
                      makeEvent(src, {
                        device: `d${i}`,
                        deviceType: 'panic-button',
                        type: 'panic.pressed',
                        severity: s,
                        data: {},
                      }),
                    ),
                  ),
                );
                for (const e of got) {
                  seen.push(e.seq);
                  claim(e.seq, e.id);
                }
                expect(o.lastSeq).toBeGreaterThanOrEqual(Math.max(...seen));
                break;
              }
              case 'ack':
                for (const r of o.nextBatch(op.n)) o.ack(r.seq);
                await tick();
                await tick();
                break;
              case 'evict':
                o.evictByAge(Date.now() + 10);
                break;
              case 'restart':
                snapshot();
                await o.close();
                o = open(dir);
                break;
              default: {
                snapshot();
                o.abandon(); // kill -9: only what was committed survives
                if (op.op === 'quarantine') {
                  for (const s of ['-wal', '-shm']) rmSync(db + s, { force: true });
                  writeFileSync(db, 'this is not a database, just garbage bytes '.repeat(100));
                } else if (op.op === 'deleteDb') {
                  for (const s of ['', '-wal', '-shm']) rmSync(db + s, { force: true });
                } else if (op.op === 'halfQuarantine') {
                  // killed between the renames: the database moved aside, its WAL and SHM left behind
                  if (existsSync(db)) renameSync(db, `${db}.quarantined-test-${seen.length}`);
                } else if (op.op === 'loseReservation') {
                  rmSync(join(dir, 'seq.reserved'), { force: true });
                }
                o = open(dir);
              }
            }
            await tick();
          }
          snapshot();
        } finally {
          await o.close();
        }
        for (let i = 1; i < seen.length; i++) expect(seen[i] as number).toBeGreaterThan(seen[i - 1] as number);
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
