// Footprint: the real CLI (`node bin/wardgate.js run --config FILE`) with 40 simulated panic
// buttons and a real Mosquitto: spawn → the pino line "wardgate ready", then idle RSS (VmRSS) and
// CPU% (utime+stime) over an idle period. Floor: a node process that loads mqtt, better-sqlite3,
// fastify and pino, opens a WAL database, listens, connects to the broker, and does nothing else.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import {
  configDoc,
  DEPLOYED_NODE_FLAGS,
  DIST_BENCH,
  flag,
  isMain,
  kill,
  MiB,
  nextMessage,
  option,
  procCpuTicks,
  procRss,
  ROOT,
  result,
  round,
  runMain,
  sleep,
  spawnNode,
  stopBroker,
  tempDir,
} from './util.js';

const DEVICES = 40;
const USER_HZ = 100;

function idleStats(pid: number, fromTicks: number, fromMs: number) {
  const ticks = procCpuTicks(pid) - fromTicks;
  const ms = performance.now() - fromMs;
  return { rss: procRss(pid), cpuPct: ((ticks / USER_HZ) * 1000 * 100) / ms };
}

/** Node flags of the compared processes: the unit's, plus a SIGUSR2 → full GC hook (settle-hook.ts). */
const SETTLE_FLAGS = ['--expose-gc', '--import', pathToFileURL(join(DIST_BENCH, 'settle-hook.js')).href];

/** Spawn the CLI and resolve when it logs READY (ms since spawn). */
function startCli(configFile: string): { child: ChildProcess; ready: Promise<number> } {
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    [...DEPLOYED_NODE_FLAGS, ...SETTLE_FLAGS, join(ROOT, 'bin', 'wardgate.js'), 'run', '--config', configFile],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const ready = new Promise<number>((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('"msg":"wardgate ready"')) {
        child.stdout?.off('data', onData);
        resolve(performance.now() - t0);
        child.stdout?.resume(); // keep draining its logs
      } else if (buf.length > 1_000_000) buf = buf.slice(-10_000);
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`wardgate exited (${code}) before READY:\n${buf.slice(-2000)}`)));
  });
  return { child, ready };
}

export async function footprint() {
  const quick = flag('quick');
  const idleMs = option('idle', quick ? 8000 : 10_000);
  /** Idle RSS is watched this long after the settle (issue 13: stable over a minute). */
  const windowMs = option('window', quick ? 15 : 60) * 1000;
  const tmp = tempDir('footprint');
  const mosq = new Mosquitto();
  let cli: ChildProcess | undefined;
  let floor: ChildProcess | undefined;
  let reference: ChildProcess | undefined;
  try {
    await mosq.start();
    const file = join(tmp.dir, 'wardgate.yaml');
    const doc = configDoc({
      id: 'footprint-gw',
      dataDir: join(tmp.dir, 'data'),
      brokers: [mosq.url],
      devices: DEVICES,
      web: true,
      level: 'info',
    });
    writeFileSync(file, stringify(doc));
    const started = startCli(file);
    cli = started.child;
    const readyMs = await started.ready;
    const cliPid = cli.pid as number;

    const tFloor = performance.now();
    floor = spawnNode(['dist/bench/footprint.js', '--floor-child', mosq.url, join(tmp.dir, 'floor.db')], {
      execArgv: DEPLOYED_NODE_FLAGS,
    });
    await nextMessage(floor, (m: { kind: string }) => m.kind === 'connected', 30_000, 'the floor process');
    const floorReadyMs = performance.now() - tFloor;
    const floorPid = floor.pid as number;

    // The hand-written durable reference (bench/reference.ts), same flags and settle hook.
    reference = spawnNode(
      ['dist/bench/reference.js', '--broker', mosq.url, '--db', join(tmp.dir, 'reference.db'), '--port', '0'],
      { execArgv: [...DEPLOYED_NODE_FLAGS, ...SETTLE_FLAGS] },
    );
    await nextMessage(reference, (m: { kind: string }) => m.kind === 'ready', 30_000, 'the reference');
    const refPid = reference.pid as number;

    // Idle: let start-up settle, then measure CPU over the rest of the period.
    await sleep(Math.min(2000, idleMs / 4));
    // Forced settle (full GC in both), then RSS; then the maximum over the idle window.
    for (const pid of [cliPid, refPid]) process.kill(pid, 'SIGUSR2');
    await sleep(1000);
    const settled = { cli: procRss(cliPid) / MiB, ref: procRss(refPid) / MiB };
    const t0 = performance.now();
    const cliTicks = procCpuTicks(cliPid);
    const floorTicks = procCpuTicks(floorPid);
    const maxRss = { cli: settled.cli, ref: settled.ref };
    for (let end = performance.now() + windowMs; performance.now() < end; ) {
      await sleep(250);
      maxRss.cli = Math.max(maxRss.cli, procRss(cliPid) / MiB);
      maxRss.ref = Math.max(maxRss.ref, procRss(refPid) / MiB);
    }
    const cliIdle = idleStats(cliPid, cliTicks, t0);
    const floorIdle = idleStats(floorPid, floorTicks, t0);
    const rss = cliIdle.rss / MiB;
    const floorRss = floorIdle.rss / MiB;
    return result(
      'footprint',
      `Footprint: the CLI with ${DEVICES} sim panic buttons`,
      {
        devices: DEVICES,
        idleMs,
        web: true,
        command: `node ${DEPLOYED_NODE_FLAGS.join(' ')} bin/wardgate.js run --config <tmp yaml>`,
        nodeFlags: DEPLOYED_NODE_FLAGS,
      },
      [
        {
          what: 'idle RSS after a forced settle (full GC), vs the hand-written reference',
          value: round(settled.cli, 1),
          unit: 'MiB',
          floor: round(settled.ref, 1),
          floorWhat: 'bench/reference.ts, settled the same way',
          ratio: round(settled.cli / settled.ref, 2),
          target: '≤ reference + 10 MiB',
          pass: settled.cli <= settled.ref + 10,
        },
        {
          what: `idle RSS, max over ${windowMs / 1000} s after the settle, vs the reference's max`,
          value: round(maxRss.cli, 1),
          unit: 'MiB',
          floor: round(maxRss.ref, 1),
          floorWhat: 'the reference, same window',
          ratio: round(maxRss.cli / maxRss.ref, 2),
          target: '≤ reference + 10 MiB',
          pass: maxRss.cli <= maxRss.ref + 10,
        },
        {
          what: 'idle RSS growth over the window (max − settled)',
          value: round(maxRss.cli - settled.cli, 1),
          unit: 'MiB',
          floor: round(maxRss.ref - settled.ref, 1),
          floorWhat: 'the reference',
          target: '—',
          pass: null,
        },
        {
          what: 'idle RSS (end of window)',
          value: round(rss, 1),
          unit: 'MiB',
          floor: round(floorRss, 1),
          floorWhat: 'mqtt + better-sqlite3 + fastify + pino loaded, connected',
          ratio: round(rss / floorRss, 2),
          target: '≤ 72 MiB',
          pass: rss <= 72,
        },
        {
          what: 'start → READY',
          value: round(readyMs, 0),
          unit: 'ms',
          floor: round(floorReadyMs, 0),
          floorWhat: 'the floor process: spawn → connected',
          ratio: round(readyMs / floorReadyMs, 2),
          target: '≤ 1000 ms',
          pass: readyMs <= 1000,
        },
        {
          what: 'idle CPU',
          value: round(cliIdle.cpuPct, 2),
          unit: '%',
          floor: round(floorIdle.cpuPct, 2),
          floorWhat: 'the floor process, same period',
          target: '—',
          pass: null,
        },
      ],
      { readyMs, floorReadyMs, cli: cliIdle, floor: floorIdle, settledMiB: settled, maxMiB: maxRss, windowMs },
    );
  } finally {
    await kill(cli);
    await kill(floor);
    await kill(reference);
    await stopBroker(mosq);
    tmp.cleanup();
  }
}

/** The floor process: the same libraries loaded and doing the least a gateway must do. */
async function floorChild(url: string, dbFile: string): Promise<void> {
  const [{ default: mqtt }, { default: Database }, { default: Fastify }, { default: pino }] = await Promise.all([
    import('mqtt'),
    import('better-sqlite3'),
    import('fastify'),
    import('pino'),
  ]);
  const log = pino({ level: 'info' }, pino.destination({ fd: 2, sync: false }));
  const db = new Database(dbFile);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)');
  const app = Fastify({ logger: false });
  app.get('/', async () => ({ ok: true }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const client = mqtt.connect(url, { protocolVersion: 5, clientId: `floor-footprint-${process.pid}` });
  client.once('connect', () => {
    log.info('floor connected');
    process.send?.({ kind: 'connected' });
  });
  process.once('SIGTERM', () => {
    client.end(true);
    void app.close();
    db.close();
    process.exit(0);
  });
}

if (isMain(import.meta.url)) {
  const i = process.argv.indexOf('--floor-child');
  if (i >= 0) void floorChild(process.argv[i + 1] as string, process.argv[i + 2] as string);
  else runMain(footprint);
}
