// WAL checkpoints on wardgate's schedule, never inside a commit (SQLite's automatic checkpoint
// runs inside the committing call: measured p99 16 ms vs 2.5 ms without). Three paths:
//  - idle: when nothing was written for a moment, a PASSIVE checkpoint on the main connection
//    (small, because it runs often); no extra thread, so an idle box stays small (~10 MiB less).
//    A WAL that grew past busyBytes (a burst, a drained backlog) goes to the worker instead:
//    copying 170 MiB on the main connection held the event loop, and any alarm, for 283 ms here;
//  - busy: a box that is never idle (a backlog being drained, a flood) gets a worker thread with
//    its own connection, so the event loop never waits; it stops again after a quiet minute;
//  - small: a worker's checkpoint never catches up with a writer that commits every millisecond
//    (new frames arrive while it copies), so the WAL would only grow. A box committing small
//    transactions (alarms, a telemetry trickle) checkpoints on its own connection instead, right
//    after the commit's turn (setImmediate: the alarm is already on the wire), every ~1 MiB of
//    WAL: a few distinct pages and one fsync of the database, and the next commit starts over.
// Whichever path, the WAL file is kept and overwritten once a checkpoint has caught up (the next
// commit starts again at its beginning), because a commit that appends pays for the file's new
// size in its fsync: a FULL commit of one alarm took 0.25–0.31 ms on a growing (or freshly
// truncated) WAL and 0.12–0.13 ms on a reused one (better-sqlite3, this project's VM). TRUNCATE
// only cuts back a WAL bigger than WAL_KEEP_BYTES (an outage's backlog); journal_size_limit does
// the same at the next restart of the log.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { WAL_KEEP_BYTES } from './db.js';

/** WAL frames (4 KiB pages) past which a caught-up checkpoint truncates instead of keeping the file. */
const KEEP_PAGES = WAL_KEEP_BYTES / 4096;
/**
 * What a commit adds to the WAL beside its rows: the table and index pages it rewrites (the
 * counters page too when it removes rows or moves the seq reservation: OutboxCore.writeCounters).
 */
const COMMIT_PAGES_BYTES = 2 * 4096;
/** The small path checkpoints once the WAL grew about this much... */
const SMALL_AFTER_BYTES = 1024 * 1024;
/** ...if its commits carried at most this many row bytes (bulk writes are the worker's business). */
const SMALL_MAX_ROW_BYTES = 256 * 1024;

// Inline source: works the same from agent/ under vitest and from dist/ in production.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlitePath);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
parentPort.on('message', (m) => {
  if (m === 'stop') { db.close(); parentPort.postMessage({ stopped: true }); return; }
  try {
    // PASSIVE never blocks the writer; TRUNCATE only a WAL grown past the size kept for reuse.
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    if (r && r.busy === 0 && r.log > workerData.keepPages && r.log === r.checkpointed) db.pragma('wal_checkpoint(TRUNCATE)');
    parentPort.postMessage({ ok: true, log: r ? r.log : 0, checkpointed: r ? r.checkpointed : 0 });
  } catch (err) {
    parentPort.postMessage({ ok: false, error: String(err && err.message || err) });
  }
});
`;

class CheckpointWorker {
  private readonly worker: Worker;
  /** Checkpoints asked for and not answered yet. */
  pending = 0;
  lastResult: { ok: boolean; log?: number; checkpointed?: number; error?: string; at: number } | undefined;

  constructor(path: string, log: Logger) {
    const sqlitePath = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { path, sqlitePath, keepPages: KEEP_PAGES } });
    this.worker.unref();
    this.worker.on('message', (m: { ok?: boolean; stopped?: boolean; error?: string }) => {
      if (m.stopped) return;
      this.pending = Math.max(0, this.pending - 1);
      this.lastResult = { ...(m as { ok: boolean }), at: Date.now() };
      if (m.ok === false) log.warn({ error: m.error }, 'outbox checkpoint failed');
    });
    this.worker.on('error', (err) => log.error({ err }, 'outbox checkpoint worker died'));
  }

  checkpoint(): void {
    this.pending++;
    this.worker.postMessage('checkpoint');
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

export interface CheckpointOptions {
  intervalMs: number;
  /** No write for this long counts as an idle moment: checkpoint then, on the main connection. */
  idleMs?: number;
  /** Without an idle moment, checkpoint (from the worker) once the WAL grew about this much... */
  busyBytes?: number;
  /** ...or this long after the last checkpoint. */
  busyMs?: number;
  /** Idle this long with the worker running stops it. */
  workerIdleStopMs?: number;
  /** The busy path starts only after this long without any idle moment. */
  busyAfterMs?: number;
}

export class CheckpointScheduler {
  private lastWriteAt = 0;
  private lastCheckpointAt = Date.now();
  private lastIdleAt = Date.now();
  private bytesSince = 0;
  private worker: CheckpointWorker | undefined;
  private readonly timer: NodeJS.Timeout;
  /** WAL growth and row bytes since the small path last looked. */
  private smallWal = 0;
  private smallRows = 0;
  private smallQueued = false;
  private stopped = false;
  idleCheckpoints = 0;
  busyCheckpoints = 0;
  smallCheckpoints = 0;
  workerStarts = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly path: string,
    private readonly opts: CheckpointOptions,
    private readonly log: Logger,
  ) {
    this.timer = setInterval(() => this.tick(), opts.intervalMs);
    this.timer.unref();
  }

  /** The outbox committed about `bytes` of rows: the WAL grew by those and the pages rewritten. */
  noteWrite(bytes: number, now = Date.now()): void {
    this.lastWriteAt = now;
    const wal = bytes + COMMIT_PAGES_BYTES;
    this.bytesSince += wal;
    this.smallWal += wal;
    this.smallRows += bytes;
    if (this.smallWal < SMALL_AFTER_BYTES || this.smallQueued) return;
    if (this.smallRows > SMALL_MAX_ROW_BYTES) {
      this.smallWal = 0;
      this.smallRows = 0;
      return;
    }
    this.smallQueued = true;
    setImmediate(this.smallCheckpoint);
  }

  private readonly smallCheckpoint = (): void => {
    this.smallQueued = false;
    this.smallWal = 0;
    this.smallRows = 0;
    if (!this.stopped) this.mainCheckpoint(Date.now(), 'small');
  };

  get workerRunning(): boolean {
    return this.worker !== undefined;
  }

  /** The worker is copying pages (the ingest bench waits for it before timing its floor). */
  get workerBusy(): boolean {
    return (this.worker?.pending ?? 0) > 0;
  }

  private tick(now = Date.now()): void {
    const quietMs = now - this.lastWriteAt;
    if (this.worker && quietMs >= (this.opts.workerIdleStopMs ?? 60_000)) {
      const w = this.worker;
      this.worker = undefined;
      void w.stop();
    }
    if (quietMs >= (this.opts.idleMs ?? 1000)) {
      this.lastIdleAt = now;
      // A WAL grown by a burst or a backlog is big: copying it would hold the event loop (and the
      // next alarm) for a third of a second per ~100 MiB here, seconds on an SD card.
      if (this.bytesSince > this.busyBytes) this.workerCheckpoint(now, 'WAL grew large before an idle moment');
      else if (this.bytesSince > 0) this.mainCheckpoint(now, 'idle');
      return;
    }
    if (this.bytesSince === 0 || now - this.lastIdleAt < (this.opts.busyAfterMs ?? 5000)) return;
    // Never idle (a drain, a flood): checkpoint off the event loop, once the WAL has grown about
    // half the size kept for reuse, so that it can start over inside the file.
    const due = this.bytesSince >= this.busyBytes || now - this.lastCheckpointAt >= (this.opts.busyMs ?? 30_000);
    if (due) this.workerCheckpoint(now, 'busy with no idle moment');
  }

  private get busyBytes(): number {
    return this.opts.busyBytes ?? WAL_KEEP_BYTES / 2;
  }

  /** A checkpoint from the worker thread (started if needed): the event loop does not wait for it. */
  private workerCheckpoint(now: number, why: string): void {
    if (!this.worker) {
      this.log.info({ why }, 'outbox checkpointing from a worker thread');
      this.worker = new CheckpointWorker(this.path, this.log);
      this.workerStarts++;
    }
    this.worker.checkpoint();
    this.busyCheckpoints++;
    this.bytesSince = 0;
    this.lastCheckpointAt = now;
  }

  /**
   * The maintenance job's checkpoint (agent/jobs/maintenance.ts): the idle path (PASSIVE, then
   * TRUNCATE once caught up), only if nothing was written for the idle moment. False if busy.
   */
  checkpointIfQuiet(now = Date.now()): boolean {
    if (now - this.lastWriteAt < (this.opts.idleMs ?? 1000)) return false;
    this.bytesSince = Math.max(this.bytesSince, 1); // caught up or not, look at the WAL now
    this.mainCheckpoint(now, 'idle');
    return true;
  }

  /** PASSIVE on the main connection (the idle and small paths). */
  private mainCheckpoint(now: number, path: 'idle' | 'small'): void {
    try {
      const [r] = this.db.pragma('wal_checkpoint(PASSIVE)') as Array<{
        busy: number;
        log: number;
        checkpointed: number;
      }>;
      if (r && r.busy === 0 && r.log === r.checkpointed) {
        this.bytesSince = 0;
        // A WAL that grew past the size kept (an outage's backlog) is cut back once caught up;
        // a smaller one is kept, and the next commit overwrites it from its beginning.
        if (r.log > KEEP_PAGES) this.db.pragma('wal_checkpoint(TRUNCATE)');
      }
      this.lastCheckpointAt = now;
      if (path === 'idle') this.idleCheckpoints++;
      else this.smallCheckpoints++;
    } catch (err) {
      this.log.warn({ err }, `outbox ${path} checkpoint failed`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.worker?.stop();
    this.worker = undefined;
  }
}
