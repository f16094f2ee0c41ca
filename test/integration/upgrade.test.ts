// An upgrade on a box with a backlog: the build before the outbox schema migration (commit OLD,
// installed with scripts/install.sh into a throwaway root) takes 10,000 events while its broker is
// down and is stopped; this build is installed over it and started against the broker. Nothing is
// lost, seq continues from the old build's last seq, and the migration runs once.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../agent/outbox/db.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { TEST_TOKEN, tempDir, testConfigYaml } from '../helpers/config.js';
import { install, REPO, snapshotCheckout } from '../helpers/install-tree.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

/** A build from before the outbox schema had a version (user_version 0, no auto-vacuum) that compiles on its own. */
const OLD = '3917d6a';
const BACKLOG = 10_000;
const WORKERS = 16;
/** Least time between two changes of one button (the old build's flood guard sheds > 200 edges/s). */
const PACE_MS = 10;

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The old build: this checkout's dependencies, the old commit's code, compiled. */
function buildOld(to: string): string {
  const has = spawnSync('git', ['-C', REPO, 'cat-file', '-e', `${OLD}^{commit}`]);
  if (has.status !== 0)
    throw new Error(`the upgrade test builds commit ${OLD}: fetch the full history (git fetch --unshallow)`);
  snapshotCheckout(to);
  for (const p of ['agent', 'drivers', 'bin', 'bench', 'dist']) rmSync(join(to, p), { recursive: true, force: true });
  const tar = execFileSync('git', ['-C', REPO, 'archive', OLD, 'agent', 'drivers', 'bin', 'bench', 'tsconfig.json'], {
    maxBuffer: 256 * 1024 * 1024,
  });
  execFileSync('tar', ['-x', '-C', to], { input: tar });
  // The agent only (bench/ needs test helpers, which the box does not get).
  const tsconfig = join(to, 'tsconfig.agent.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({ extends: './tsconfig.json', include: ['agent/**/*.ts', 'drivers/**/*.ts'] }),
  );
  execFileSync(process.execPath, [join(to, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], { stdio: 'inherit' });
  return to;
}

describe('upgrade with a backlog', () => {
  it(`keeps a ${BACKLOG}-event backlog, continues seq and migrates the schema once`, async () => {
    const work = tempDir('wg-upgrade-');
    cleanups.push(() => rmSync(work, { recursive: true, force: true }));
    const root = join(work, 'root');
    const data = join(root, 'var/lib/wardgate');
    install(buildOld(join(work, 'old')), ['--root', root, '--prebuilt']);
    const cli = join(root, 'opt/wardgate/bin/wardgate.js');

    const mqttPort = await freePort(); // nothing listens yet: the broker is down
    const webPort = await freePort();
    const cfgPath = join(work, 'config.yaml');
    writeFileSync(
      cfgPath,
      testConfigYaml({ brokers: [`mqtt://127.0.0.1:${mqttPort}`], dataDir: data, buttons: WORKERS, webPort }),
    );
    const old = new AgentProcess(cfgPath, {}, cli);
    cleanups.push(() => old.kill());
    await old.start();

    const accepted: string[] = [];
    let early = 0;
    const worker = async (b: number) => {
      let active = false;
      let last = 0;
      while (accepted.length < BACKLOG) {
        // One line changed at most every PACE_MS: faster is a flood the GPIO driver sheds (200
        // edges/s per line), after which every press on the line would be refused.
        const wait = last + PACE_MS - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        last = performance.now();
        active = !active;
        const res = await fetch(`http://127.0.0.1:${webPort}/api/sim/panic-${b}/button`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ active }),
        });
        // 202: the old build's sim answered before its debounce decided (a loaded machine); the
        // press is still made and counted from the database below, it is only not in `accepted`.
        expect([200, 202]).toContain(res.status);
        if (res.status === 202 && ++early > 500) throw new Error('the old build left 500 changes undecided');
        const body = (await res.json()) as { accepted: Array<{ id: string }> };
        for (const e of body.accepted) accepted.push(e.id);
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, (_, b) => worker(b)));
    expect(await old.kill('SIGTERM')).toBe(0);

    const before = new Database(join(data, 'outbox.db'), { readonly: true });
    const oldLastSeq = before.prepare("SELECT v FROM meta WHERE k = 'last_seq'").pluck().get() as number;
    const backlog = before.prepare('SELECT COUNT(*) FROM events').pluck().get() as number;
    expect(before.pragma('user_version', { simple: true })).toBe(0);
    before.close();
    expect(backlog).toBeGreaterThanOrEqual(BACKLOG);

    // The new build over the old one, as a technician's upgrade does; the broker is back.
    install(snapshotCheckout(join(work, 'new')), ['--root', root, '--prebuilt']);
    const broker = await new Mosquitto({ port: mqttPort }).start();
    cleanups.push(() => broker.stop());
    const sub = await new Subscriber(broker.url).connect();
    cleanups.push(() => sub.close());
    const next = new AgentProcess(cfgPath, {}, cli);
    cleanups.push(() => next.kill());
    await next.start();
    // The presses are alarms (critical/high lanes); the old build's other rows and the new build's
    // gateway.started are normal and go after them: wait for every old row and the new start.
    await waitFor(
      () => {
        const got = new Set(sub.events().map((e) => e.id));
        if (!accepted.every((id) => got.has(id))) return false;
        const all = sub.uniqueEvents();
        return (
          all.some((e) => e.type === 'gateway.started' && e.seq > oldLastSeq) &&
          new Set(all.filter((e) => e.seq <= oldLastSeq).map((e) => e.seq)).size >= backlog
        );
      },
      180_000,
      `all ${accepted.length} accepted events, the ${backlog}-row backlog and the new start at the subscriber`,
    );
    const events = sub.uniqueEvents();
    const started = events.filter((e) => e.type === 'gateway.started');
    const newStart = started.find((e) => e.seq > oldLastSeq);
    // seq continues: the new build's first event takes the next seq after the old build's last.
    expect(newStart?.seq).toBe(oldLastSeq + 1);
    const oldSeqs = events.filter((e) => e.seq <= oldLastSeq).map((e) => e.seq);
    // Every row the old build left arrived (the backlog was never evicted: 64 MiB cap).
    expect(new Set(oldSeqs).size).toBe(backlog);
    expect(await next.kill('SIGTERM')).toBe(0);
    const firstRun = next.out;

    await next.start(); // a second start of the new build: no second migration
    expect(await next.kill('SIGTERM')).toBe(0);
    const migrated = (log: string) => log.split('\n').filter((l) => l.includes('"msg":"outbox schema migrated"'));
    expect(migrated(firstRun)).toHaveLength(1);
    expect(migrated(firstRun)[0]).toContain(`"from":0,"to":${SCHEMA_VERSION}`);
    expect(migrated(next.out)).toEqual([]);
    const after = new Database(join(data, 'outbox.db'), { readonly: true });
    expect(after.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    after.close();
    console.log(
      `upgrade: ${accepted.length} events accepted by ${OLD}, backlog ${backlog} rows, last seq ${oldLastSeq}; ` +
        `new build's first seq ${newStart?.seq}; all delivered; migrated once`,
    );
    expect(readFileSync(join(root, 'opt/wardgate/dist/agent/outbox/db.js'), 'utf8')).toContain('user_version');
  }, 600_000);
});
