// Outbox maintenance at a quiet hour (issue 12). The WAL checkpoint is the checkpoint scheduler's
// own (agent/outbox/checkpoint.ts: checkpoint and TRUNCATE when idle), asked here, not a second
// implementation. Then `PRAGMA optimize` (SQLite's advice for long-lived connections), and an
// incremental vacuum once more pages are free than the threshold: a drained backlog gives its
// pages back to the card a few at a time, each step short enough not to hold the event loop.
import type Database from 'better-sqlite3';

export interface MaintenanceResult {
  checkpoint: 'done' | 'busy' | 'off';
  optimized: boolean;
  freePages: number;
  vacuumedPages: number;
  /** Why pages were not vacuumed, if they were not. */
  vacuum: 'done' | 'below threshold' | 'auto_vacuum not incremental (schema migration pending)';
}

export interface MaintenanceTarget {
  db: Database.Database;
  /** The scheduler's idle checkpoint, if the outbox was quiet; undefined without a scheduler. */
  checkpoint: (() => boolean) | undefined;
}

export async function outboxMaintenance(
  t: MaintenanceTarget,
  opts: { vacuumFreePages: number; stepPages?: number },
): Promise<MaintenanceResult> {
  const checkpoint = t.checkpoint === undefined ? 'off' : t.checkpoint() ? 'done' : 'busy';
  t.db.pragma('optimize');
  const freePages = t.db.pragma('freelist_count', { simple: true }) as number;
  let vacuumedPages = 0;
  let vacuum: MaintenanceResult['vacuum'] = 'below threshold';
  if (freePages > opts.vacuumFreePages) {
    if (t.db.pragma('auto_vacuum', { simple: true }) !== 2) {
      vacuum = 'auto_vacuum not incremental (schema migration pending)';
    } else {
      const step = opts.stepPages ?? 256;
      for (let left = freePages; left > 0; left -= step) {
        t.db.pragma(`incremental_vacuum(${Math.min(step, left)})`);
        // Yield between steps: an alarm's commit never waits behind the whole vacuum.
        await new Promise((r) => setImmediate(r));
      }
      vacuumedPages = freePages - (t.db.pragma('freelist_count', { simple: true }) as number);
      vacuum = 'done';
    }
  }
  return { checkpoint, optimized: true, freePages, vacuumedPages, vacuum };
}
