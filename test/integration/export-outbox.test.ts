// Replacing a broken box: `wardgate export-outbox` on the old box's data, `import-outbox` on the new
// box (same gateway id), and the new box delivers every undelivered event and continues seq at the
// old box's last seq + 1. Refusals: another gateway id, an outbox in use, undelivered events here.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { makeEvent } from '../../agent/event.js';
import { exportOutbox, importOutbox } from '../../agent/outbox/export.js';
import { Outbox } from '../../agent/outbox/store.js';
import { AgentProcess, CLI } from '../helpers/agent-process.js';
import { TEST_TOKEN, tempDir, testConfigYaml } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const wardgate = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

async function press(webPort: number, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await fetch(`http://127.0.0.1:${webPort}/api/sim/panic-${i % 2}/button`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ active: i % 4 < 2 }),
    });
    expect(res.status).toBe(200);
    for (const e of ((await res.json()) as { accepted: Array<{ id: string }> }).accepted) ids.push(e.id);
  }
  return ids;
}

describe('export-outbox / import-outbox', () => {
  it('moves undelivered events to a new box with seq continuity', async () => {
    const work = tempDir('wg-move-');
    cleanups.push(() => rmSync(work, { recursive: true, force: true }));
    const mqttPort = await freePort(); // the old box lost its uplink: nothing listens here
    const webPort = await freePort();
    const cfg = (name: string, gatewayId = 'ward-7') => {
      const path = join(work, `${name}.yaml`);
      writeFileSync(
        path,
        testConfigYaml({
          brokers: [`mqtt://127.0.0.1:${mqttPort}`],
          dataDir: join(work, name),
          buttons: 2,
          webPort,
          gatewayId,
        }),
      );
      return path;
    };
    const oldCfg = cfg('old');
    const old = new AgentProcess(oldCfg);
    cleanups.push(() => old.kill());
    await old.start();
    const accepted = await press(webPort, 60);
    expect(await old.kill('SIGTERM')).toBe(0);
    const oldDb = new Database(join(work, 'old/outbox.db'), { readonly: true });
    // The last seq committed: commits that only add rows leave the meta row's last_seq behind.
    const oldLastSeq = Math.max(
      oldDb.prepare("SELECT v FROM meta WHERE k = 'last_seq'").pluck().get() as number,
      (oldDb.prepare('SELECT MAX(seq) FROM events').pluck().get() as number | null) ?? 0,
    );
    const oldRows = oldDb.prepare('SELECT COUNT(*) FROM events').pluck().get() as number;
    oldDb.close();

    const file = join(work, 'ward-7.outbox');
    const ex = wardgate('export-outbox', file, '--config', oldCfg);
    expect(ex.stderr).toBe('');
    expect(ex.stdout).toContain(`${oldRows} events not yet delivered, last seq ${oldLastSeq}`);
    expect(wardgate('export-outbox', file, '--config', oldCfg).status).toBe(65); // never overwritten

    const wrongId = wardgate('import-outbox', file, '--config', cfg('other', 'ward-8'));
    expect(wrongId.status).toBe(65);
    expect(wrongId.stderr).toContain('WG_ERR_OUTBOX_IMPORT_GATEWAY');
    const notAnExport = join(work, 'junk.outbox');
    writeFileSync(notAnExport, 'not sqlite at all');
    const bad = wardgate('import-outbox', notAnExport, '--config', cfg('new'));
    expect(bad.status).toBe(65);
    expect(bad.stderr).toContain('WG_ERR_OUTBOX_IMPORT_BAD_FILE');

    const newCfg = cfg('new');
    const im = wardgate('import-outbox', file, '--config', newCfg);
    expect(im.stderr).toBe('');
    expect(im.stdout).toContain(`the next event takes seq ${oldLastSeq + 1}`);

    const broker = await new Mosquitto({ port: mqttPort }).start();
    cleanups.push(() => broker.stop());
    const sub = await new Subscriber(broker.url).connect();
    cleanups.push(() => sub.close());
    const next = new AgentProcess(newCfg);
    cleanups.push(() => next.kill());
    await next.start();
    // The old box's presses are alarms (critical/high lanes); the new box's gateway.started is
    // normal and goes after them: wait for both.
    const startedHere = () => sub.uniqueEvents().filter((e) => e.type === 'gateway.started' && e.seq > oldLastSeq);
    await waitFor(
      () => {
        const got = new Set(sub.events().map((e) => e.id));
        return accepted.every((id) => got.has(id)) && startedHere().length > 0;
      },
      60_000,
      'the old box events and the new box start from the new box',
    );
    const started = startedHere();
    expect(started.map((e) => e.seq)).toEqual([oldLastSeq + 1]);
    expect(started[0]?.gateway).toBe('ward-7');

    // A running agent's outbox is never replaced under it.
    const inUse = wardgate('import-outbox', file, '--config', newCfg, '--force');
    expect(inUse.status).toBe(65);
    expect(inUse.stderr).toContain('WG_ERR_OUTBOX_IN_USE');
  }, 180_000);

  it('refuses an outbox with undelivered events unless forced; forced, they are set aside and seq never reused', async () => {
    const work = tempDir('wg-move-');
    cleanups.push(() => rmSync(work, { recursive: true, force: true }));
    const log = pino({ level: 'silent' });
    const src = { gateway: 'ward-7', site: 's', clockSynced: () => true };
    const ev = (box: Outbox, n: number) =>
      Promise.all(
        Array.from({ length: n }, () =>
          box.accept(makeEvent(src, { device: 'p1', deviceType: 'panic-button', type: 'panic.pressed' })),
        ),
      );
    const open = (dir: string) =>
      new Outbox({
        dataDir: dir,
        maxBytes: 1 << 26,
        log,
        checkpointIntervalMs: 0,
        gatewayEvent: (i) => makeEvent(src, { ...i, device: 'ward-7', deviceType: 'gateway' }),
        topicOf: () => 'events/panic-button/p1',
      });
    // The old box: 30 events, then exported.
    const oldBox = open(join(work, 'old'));
    await ev(oldBox, 30);
    await oldBox.close();
    const file = join(work, 'x.outbox');
    const info = await exportOutbox(join(work, 'old'), file, 'ward-7');
    // The new box already ran for a long time (seq reserved up to 50,000) and holds 5 undelivered
    // events of its own.
    mkdirSync(join(work, 'new'));
    writeFileSync(join(work, 'new/seq.reserved'), '50000\n');
    const newBox = open(join(work, 'new'));
    await ev(newBox, 5);
    await newBox.close();
    await expect(importOutbox(join(work, 'new'), file, 'ward-7')).rejects.toMatchObject({
      code: 'WG_ERR_OUTBOX_IMPORT_NOT_EMPTY',
    });
    const forced = await importOutbox(join(work, 'new'), file, 'ward-7', { force: true });
    expect(forced.setAside && existsSync(forced.setAside)).toBe(true);
    const aside = new Database(forced.setAside as string, { readonly: true });
    // Its own 5 presses (beside the outbox's notice of the seq jump at its first start).
    expect(aside.prepare("SELECT COUNT(*) FROM events WHERE payload LIKE '%panic.pressed%'").pluck().get()).toBe(5);
    aside.close();
    // This box reserved seqs above the export's: the next seq jumps above them, never reuses one.
    expect(info.reservedUpTo).toBeLessThan(50_000);
    expect(forced.nextSeq).toBeGreaterThan(50_005);
    const reopened = open(join(work, 'new'));
    expect(reopened.depth).toBe(30);
    const [first] = await ev(reopened, 1);
    // nextSeq is taken by the outbox's own notice of the jump; the press comes right after.
    expect(first?.seq).toBe(forced.nextSeq + 1);
    await reopened.close();
  });
});
