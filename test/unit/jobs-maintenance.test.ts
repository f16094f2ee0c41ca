// Outbox maintenance (issue 12): an incremental vacuum gives a drained backlog's pages back once
// more are free than the threshold, and says why not when the file predates the migration; the
// runtime log level changes live and a restart goes back to the configured one.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { checkConfig } from '../../agent/config/load.js';
import { outboxMaintenance } from '../../agent/jobs/maintenance.js';
import { openOutboxDb } from '../../agent/outbox/db.js';
import { Agent } from '../../agent/runtime.js';
import { SimGpioBackend } from '../../drivers/gpio/sim.js';
import { tempDir } from '../helpers/config.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const silent = pino({ level: 'silent' });

function backlogDrained(db: Database.Database): void {
  const ins = db.prepare(
    'INSERT INTO events (seq, lane, topic, payload, bytes, accepted_ms, unsynced) VALUES (?, 0, ?, ?, 1, 0, 0)',
  );
  db.transaction(() => {
    for (let i = 1; i <= 3000; i++) ins.run(i, 'events/x', 'x'.repeat(1000));
  })();
  db.exec('DELETE FROM events');
}

describe('outbox maintenance', () => {
  it('vacuums incrementally once free pages pass the threshold', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const { db } = openOutboxDb(join(dir, 'outbox.db'), silent);
    backlogDrained(db);
    const pagesBefore = db.pragma('page_count', { simple: true }) as number;
    const small = await outboxMaintenance({ db, checkpoint: undefined }, { vacuumFreePages: 1_000_000 });
    expect(small).toMatchObject({ vacuum: 'below threshold', vacuumedPages: 0, checkpoint: 'off', optimized: true });
    const r = await outboxMaintenance({ db, checkpoint: () => true }, { vacuumFreePages: 100, stepPages: 64 });
    expect(r.freePages).toBeGreaterThan(700);
    expect(r).toMatchObject({ vacuum: 'done', checkpoint: 'done' });
    expect(r.vacuumedPages).toBe(r.freePages);
    expect(db.pragma('freelist_count', { simple: true })).toBe(0);
    expect(db.pragma('page_count', { simple: true })).toBeLessThan(pagesBefore - 700);
    db.close();
  });

  it('says the migration is pending on a file without incremental auto-vacuum', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const db = new Database(join(dir, 'old.db'));
    db.exec(
      'CREATE TABLE events (seq INTEGER PRIMARY KEY, lane INTEGER, topic TEXT, payload TEXT, bytes INTEGER, accepted_ms INTEGER, unsynced INTEGER)',
    );
    backlogDrained(db);
    const r = await outboxMaintenance({ db, checkpoint: () => false }, { vacuumFreePages: 10 });
    expect(r).toMatchObject({ vacuum: 'auto_vacuum not incremental (schema migration pending)', checkpoint: 'busy' });
    db.close();
  });
});

describe('runtime log level', () => {
  it('changes live for every unit and is back to the configured level after a restart', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const r = checkConfig({
      gateway: { id: 'ward-ll', site: 's', dataDir: dir, clock: { sync: 'assume' } },
      mqtt: { brokers: ['mqtt://127.0.0.1:1'] },
      log: { level: 'warn' },
      gpio: { backend: 'sim' },
      devices: [{ id: 'panic-1', type: 'panic-button', input: { line: 4 } }],
    });
    if (!r.ok) throw new Error(r.problems.join('\n'));
    const lines: Array<Record<string, unknown>> = [];
    const start = () =>
      Agent.start({
        config: r.config,
        log: pino({ level: r.config.log?.level ?? 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) }),
        gpioBackend: () => new SimGpioBackend(),
      });
    const a = await start();
    const child = a.log.child({ unit: 'uplink' });
    expect(child.isLevelEnabled('debug')).toBe(false);
    expect(a.setLogLevel('debug', 'page')).toEqual({ from: 'warn', to: 'debug' });
    expect(child.isLevelEnabled('debug')).toBe(true);
    expect(a.status().logLevel).toEqual({ current: 'debug', configured: 'warn' });
    expect(lines.find((l) => l.msg === 'log level changed (until restart)')).toMatchObject({
      from: 'warn',
      to: 'debug',
      by: 'page',
    });
    expect(() => a.setLogLevel('loud')).toThrow(/log level must be one of/);
    await a.stop();
    const b = await start();
    expect(b.log.level).toBe('warn');
    await b.stop();
  });
});
