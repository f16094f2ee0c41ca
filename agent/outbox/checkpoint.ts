// WAL checkpoints on wardgate's schedule, in a worker thread with its own connection, so the alarm
// path never waits behind one (SQLite's automatic checkpoint runs inside the committing call).
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';

// Inline source: works the same from agent/ under vitest and from dist/ in production.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlitePath);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
let stopped = false;
function tick() {
  if (stopped) return;
  try {
    // PASSIVE never blocks the writer; TRUNCATE only when a passive pass caught everything up.
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    if (r && r.busy === 0 && r.log > 4096 && r.log === r.checkpointed) db.pragma('wal_checkpoint(TRUNCATE)');
    parentPort.postMessage({ ok: true, log: r ? r.log : 0, checkpointed: r ? r.checkpointed : 0 });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String(err && err.message || err) });
  }
  timer = setTimeout(tick, workerData.intervalMs);
}
let timer = setTimeout(tick, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m === 'stop') { stopped = true; clearTimeout(timer); db.close(); parentPort.postMessage({ stopped: true }); }
});
`;

export class CheckpointWorker {
  private readonly worker: Worker;
  lastResult: { ok: boolean; log?: number; checkpointed?: number; error?: string; at: number } | undefined;

  constructor(path: string, intervalMs: number, log: Logger) {
    const sqlitePath = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, intervalMs, sqlitePath } });
    this.worker.unref();
    this.worker.on('message', (m: { ok?: boolean; stopped?: boolean; error?: string }) => {
      if (m.stopped) return;
      this.lastResult = { ...(m as { ok: boolean }), at: Date.now() };
      if (m.ok === false) log.warn({ error: m.error }, 'outbox checkpoint failed');
    });
    this.worker.on('error', (err) => log.error({ err }, 'outbox checkpoint worker died'));
  }

  async stop(): Promise<void> {
    const done = new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        void this.worker.terminate().then(() => resolve());
      }, 2000);
      this.worker.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
    this.worker.postMessage('stop');
    this.worker.once('message', () => {
      void this.worker.terminate();
    });
    await done;
  }
}
