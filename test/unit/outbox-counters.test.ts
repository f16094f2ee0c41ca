// Counters that cannot drift (issue 7 item 3): the in-memory per-lane mirror (count, bytes,
// refused, tail, seq) must equal the table after every step, whether the step's transaction
// committed or failed. Failures are real SQLite failures: a COMMIT refused by a deferred foreign
// key (armed by triggers on the meta row and on new rows, so that every outbox transaction trips
// it) and SQLITE_FULL (max_page_count). Random sequences of accept / send+ack/refuse/defer / age
// eviction / rewind, with the fault armed before any step, checked against SELECT count(*),
// sum(bytes) after each. The meta row plus the rows past its last_seq (commits that only add rows
// leave it) must count the table too, and an outbox opened on the file afterwards must agree.
import type Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeEvent, type Severity } from '../../agent/event.js';
import { createLogger } from '../../agent/log.js';
import { UNRECORDED_ROWS_SQL } from '../../agent/outbox/core.js';
import type { LaneMirror } from '../../agent/outbox/mirror.js';
import { Outbox, type OutboxOptions } from '../../agent/outbox/store.js';
import { tempDir } from '../helpers/config.js';

const src = { gateway: 'g', site: 's', clockSynced: () => true };
const SEVS: Severity[] = ['critical', 'high', 'normal', 'low'];
const ev = (severity: Severity, n: number) =>
  makeEvent(src, {
    device: `d${n % 3}`,
    deviceType: 'panic-button',
    type: 'panic.pressed',
    severity,
    data: { n, pad: 'x'.repeat(300) },
  });

type Fault = 'none' | 'commit' | 'full';
type Step =
  | { op: 'accept'; sevs: Severity[] }
  | { op: 'send'; n: number; outcomes: Array<'ack' | 'refuse' | 'defer' | 'none'> }
  | { op: 'evictAge' }
  | { op: 'rewind' }
  | { op: 'retryRefused' };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    op: fc.constant('accept' as const),
    sevs: fc.array(fc.constantFrom(...SEVS), { minLength: 1, maxLength: 30 }),
  }),
  fc.record({
    op: fc.constant('send' as const),
    n: fc.integer({ min: 1, max: 40 }),
    outcomes: fc.array(fc.constantFrom('ack' as const, 'refuse' as const, 'defer' as const, 'none' as const), {
      minLength: 40,
      maxLength: 40,
    }),
  }),
  fc.constant({ op: 'evictAge' as const }),
  fc.constant({ op: 'rewind' as const }),
  fc.constant({ op: 'retryRefused' as const }),
);

interface Internals {
  db: Database.Database;
  mirror: LaneMirror;
}

function arm(db: Database.Database, fault: Fault): void {
  if (fault === 'commit') db.exec('INSERT INTO fault_arm VALUES (1)');
  if (fault === 'full') db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
}

function disarm(db: Database.Database): void {
  db.exec('DELETE FROM fault_arm');
  db.pragma('max_page_count = 1073741823');
}

/**
 * Every outbox transaction writes the meta row or adds rows (or both): with fault_arm set, its
 * COMMIT fails (deferred FK).
 */
function installCommitFault(db: Database.Database): void {
  db.pragma('foreign_keys = ON');
  db.exec(`
    CREATE TABLE fault_parent (id INTEGER PRIMARY KEY);
    CREATE TABLE fault_child (p INTEGER REFERENCES fault_parent(id) DEFERRABLE INITIALLY DEFERRED);
    CREATE TABLE fault_arm (on_ INTEGER);
    CREATE TRIGGER fault_ins AFTER INSERT ON meta WHEN EXISTS (SELECT 1 FROM fault_arm)
      BEGIN INSERT INTO fault_child VALUES (-1); END;
    CREATE TRIGGER fault_upd AFTER UPDATE ON meta WHEN EXISTS (SELECT 1 FROM fault_arm)
      BEGIN INSERT INTO fault_child VALUES (-1); END;
    CREATE TRIGGER fault_row AFTER INSERT ON events WHEN EXISTS (SELECT 1 FROM fault_arm)
      BEGIN INSERT INTO fault_child VALUES (-1); END;
  `);
}

function checkMirror(o: Outbox, label: string): void {
  const { db, mirror } = o as unknown as Internals;
  const table = new Map(
    db
      .prepare<[], { lane: number; n: number; b: number; r: number; m: number }>(
        'SELECT lane, COUNT(*) AS n, SUM(bytes) AS b, SUM(refused != 0) AS r, MAX(seq) AS m FROM events GROUP BY lane',
      )
      .all()
      .map((r) => [r.lane, r]),
  );
  const meta = new Map(
    db
      .prepare<[], { k: string; v: number }>('SELECT k, v FROM meta')
      .all()
      .map((r) => [r.k, r.v]),
  );
  const recordedSeq = meta.get('last_seq') ?? 0;
  const unrecorded = new Map(
    db
      .prepare<[number], { lane: number; n: number; b: number }>(
        'SELECT lane, COUNT(*) AS n, SUM(bytes) AS b FROM events WHERE seq > ? GROUP BY lane',
      )
      .all(recordedSeq)
      .map((r) => [r.lane, r]),
  );
  for (let l = 0; l < 4; l++) {
    const t = table.get(l);
    const want = { count: t?.n ?? 0, bytes: t?.b ?? 0, refused: t?.r ?? 0 };
    expect(
      { count: mirror.count[l], bytes: mirror.bytes[l], refused: mirror.refused[l] },
      `${label} lane ${l}`,
    ).toEqual(want);
    const later = unrecorded.get(l);
    expect(
      {
        count: (meta.get(`count_${l}`) ?? 0) + (later?.n ?? 0),
        bytes: (meta.get(`bytes_${l}`) ?? 0) + (later?.b ?? 0),
      },
      `${label} meta ${l} plus the rows past its last_seq`,
    ).toEqual({ count: want.count, bytes: want.bytes });
    // The drain skips a lane whose tail is at its cursor: the tail must cover every row.
    expect(mirror.tail[l] ?? 0, `${label} tail ${l}`).toBeGreaterThanOrEqual(t?.m ?? 0);
  }
  const maxSeq = Math.max(0, ...[...table.values()].map((t) => t.m));
  expect(mirror.seq, `${label} seq`).toBeGreaterThanOrEqual(maxSeq);
  expect(recordedSeq, `${label} last_seq`).toBeLessThanOrEqual(mirror.seq);
  expect(meta.get('reserved_upto') ?? 0, `${label} reserved`).toBeGreaterThanOrEqual(mirror.seq);
}

/** setImmediate is real (flush, settle); setTimeout is fake (retries, ack batching, holds). */
async function settleAll(ms: number): Promise<void> {
  for (let i = 0; i < 4; i++) {
    await new Promise((r) => setImmediate(r));
    vi.advanceTimersByTime(ms);
  }
  await new Promise((r) => setImmediate(r));
}

describe('outbox counters under failed commits', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('property: after every step, committed or failed, the mirror equals the table and no lane is skipped', async () => {
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(step, fc.constantFrom<Fault>('none', 'none', 'commit', 'full')), {
          minLength: 5,
          maxLength: 30,
        }),
        async (steps) => {
          const dataDir = tempDir();
          const o = new Outbox(smallOutbox(dataDir));
          const { db } = o as unknown as Internals;
          installCommitFault(db);
          const seqs: number[] = [];
          let n = 0;
          try {
            for (const [s, fault] of steps) {
              arm(db, fault);
              switch (s.op) {
                case 'accept':
                  for (const sev of s.sevs) void o.accept(ev(sev, n++)).then((e) => seqs.push(e.seq));
                  break;
                case 'send':
                  o.nextBatch(s.n).forEach((r, i) => {
                    const what = s.outcomes[i];
                    if (what === 'ack') o.ack(r.seq);
                    else if (what === 'refuse') o.refuse(r.seq, 0x87);
                    else if (what === 'defer') o.defer(r.seq, 0x97);
                  });
                  break;
                case 'evictAge':
                  o.evictByAge(Date.now() + 10);
                  break;
                case 'rewind':
                  o.rewind();
                  break;
                case 'retryRefused':
                  o.retryRefused();
                  break;
              }
              await settleAll(25);
              checkMirror(o, `${s.op} with fault ${fault}`);
              disarm(db);
              await settleAll(1100); // held events and failed settles are retried
              checkMirror(o, `${s.op} after the fault`);
            }
            // Nothing is stranded: after a reconnect every row on disk is offered again.
            o.rewind();
            await settleAll(25);
            const offered = new Set<number>();
            for (;;) {
              const rows = o.nextBatch(1000);
              if (rows.length === 0) break;
              for (const r of rows) offered.add(r.seq);
            }
            const onDisk = db.prepare<[], { seq: number }>('SELECT seq FROM events').all();
            expect([...offered].sort((a, b) => a - b)).toEqual(onDisk.map((r) => r.seq).sort((a, b) => a - b));
            expect(new Set(seqs).size).toBe(seqs.length);
          } finally {
            disarm(db);
            // Every other run ends as kill -9 would: the meta row may lag the last commits.
            if (++runs % 2 === 0) o.abandon();
            else await o.close();
          }
          // The next start counts from the meta row and the rows committed after it.
          const again = new Outbox(smallOutbox(dataDir));
          try {
            checkMirror(again, 'opened again');
            expect(again.lastSeq).toBe(o.lastSeq);
          } finally {
            await again.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  }, 120_000);

  it('an alarm-only commit leaves the meta row; a start after kill -9 counts its rows, a clean stop records them', async () => {
    vi.useRealTimers();
    const dataDir = tempDir();
    const outboxes: Outbox[] = [];
    const open = () => {
      const o = new Outbox(smallOutbox(dataDir, 1024 ** 3));
      outboxes.push(o);
      return o;
    };
    const recorded = (o: Outbox) =>
      (o as unknown as Internals).db.prepare("SELECT v FROM meta WHERE k = 'last_seq'").pluck().get() as number;
    try {
      const first = open();
      await first.accept(ev('normal', 0)); // the first commit records the seq reservation
      const before = recorded(first);
      const alarms = [await first.accept(ev('critical', 1)), await first.accept(ev('high', 2))];
      expect(recorded(first)).toBe(before); // two commits, no counters statement
      expect(alarms.map((a) => a.seq)).toEqual([before + 1, before + 2]);
      first.abandon(); // as kill -9: only what was committed

      const second = open();
      checkMirror(second, 'opened after kill -9');
      expect(second.lastSeq).toBe(before + 2);
      expect(second.seqJumped).toBeUndefined();
      expect((second as unknown as Internals).mirror.count.slice(0, 3)).toEqual([1, 1, 1]);
      expect((await second.accept(ev('critical', 3))).seq).toBe(before + 3);
      expect(recorded(second)).toBe(before);
      await second.close();

      const third = open();
      expect(recorded(third)).toBe(before + 3); // the clean stop wrote the row
      checkMirror(third, 'opened after a clean stop');
    } finally {
      for (const o of outboxes) await o.close();
    }
  });
  it('the start reads only the rows past the counters row: a seq range, not the lane index', async () => {
    vi.useRealTimers();
    const o = new Outbox(smallOutbox(tempDir(), 1024 ** 3));
    try {
      const { db } = o as unknown as Internals;
      const plan = db
        .prepare<[number], { detail: string }>(`EXPLAIN QUERY PLAN ${UNRECORDED_ROWS_SQL}`)
        .all(0)
        .map((r) => r.detail);
      expect(plan.join('; ')).toMatch(/USING INTEGER PRIMARY KEY \(rowid>\?\)/);
      expect(plan.join('; ')).not.toMatch(/events_lane_seq/);
    } finally {
      await o.close();
    }
  });
});

function smallOutbox(dataDir: string, maxBytes = 24 * 1024): OutboxOptions {
  return {
    dataDir,
    maxBytes, // small by default: accepts evict for the cap inside the same transaction
    maxAgeMs: { normal: 1, low: 1 },
    checkpointIntervalMs: 0,
    log: createLogger('fatal'),
    gatewayEvent: (i) => makeEvent(src, { ...i, device: 'g', deviceType: 'gateway' }),
    topicOf: (e) => `events/${e.deviceType}/${e.device}`,
  };
}
