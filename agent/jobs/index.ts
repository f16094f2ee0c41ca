// The agent's scheduled jobs (issue 12): health publication, the daily self-test, outbox
// maintenance, pruning of bounded history. Times of day come from `jobs.*` in the config and are
// the box's local time unless `jobs.timezone` says otherwise.
import type { Agent } from '../runtime.js';
import { outboxMaintenance } from './maintenance.js';
import { Jobs } from './scheduler.js';
import { runSelfTest, type SelfTestReport } from './self-test.js';

export interface JobsConfig {
  selfTestAt?: string;
  maintenanceAt?: string;
  vacuumFreePages?: number;
  diskMinFreeMb?: number;
  timezone?: string;
}

export const JOB_DEFAULTS = {
  selfTestAt: '03:30',
  maintenanceAt: '03:45',
  vacuumFreePages: 2048,
  diskMinFreeMb: 200,
} as const;

/** The self-test as the agent answers it (also on demand from the page). */
export function selfTest(agent: Agent, now = Date.now()): SelfTestReport {
  const cfg = agent.config.jobs ?? {};
  return runSelfTest(
    {
      devices: () =>
        [...agent.devices.devices.values()].map((e) => ({
          id: e.cfg.id,
          online: e.online,
          ...(e.reason !== undefined ? { reason: e.reason } : {}),
        })),
      drivers: () => agent.supervisor.health(),
      lastSuccess: (driver) => agent.driverLastSuccess(driver),
      outbox: () => ({
        diskLow: agent.outbox.diskLow !== undefined,
        alarmsOverCap: agent.outbox.alarmsOverCap,
        quarantined: agent.outbox.quarantined !== undefined,
        depth: agent.outbox.depth,
        oldestMs: undefined,
      }),
      dataDir: agent.config.gateway.dataDir,
      clockSynced: () => agent.clockIsSynced,
      uplinkConnected: () => agent.uplink.connected,
    },
    { diskMinFreeMb: cfg.diskMinFreeMb ?? JOB_DEFAULTS.diskMinFreeMb, now },
  );
}

export function startJobs(agent: Agent): Jobs {
  const cfg = agent.config.jobs ?? {};
  const log = agent.log.child({ unit: 'jobs' });
  const jobs = new Jobs(log, cfg.timezone);
  jobs.add('health', { everySec: agent.config.mqtt.healthIntervalSec }, () =>
    agent.retained.publishHealth(agent.healthPayload()),
  );
  jobs.add('self-test', { daily: cfg.selfTestAt ?? JOB_DEFAULTS.selfTestAt }, () => agent.recordSelfTest());
  jobs.add('outbox-maintenance', { daily: cfg.maintenanceAt ?? JOB_DEFAULTS.maintenanceAt }, async () => {
    const r = await outboxMaintenance(
      {
        db: agent.outbox.database,
        checkpoint: agent.outbox.checkpointer
          ? () => agent.outbox.checkpointer?.checkpointIfQuiet() ?? false
          : undefined,
      },
      { vacuumFreePages: cfg.vacuumFreePages ?? JOB_DEFAULTS.vacuumFreePages },
    );
    log.info(r, 'outbox maintenance');
    return r;
  });
  // Bounded history: outbox rows past their lane's age limit, command nonces past their expiry.
  // (The page's event history is bounded where it is added to, walk-test reports where they are stored.)
  jobs.add('outbox-eviction-by-age', { everySec: 60 }, () => agent.outbox.evictByAge());
  jobs.add('command-nonce-prune', { everySec: 60 }, () => agent.commands.pruneNonces());
  jobs.add('clock-check', { everySec: 5 }, () => agent.checkClock());
  return jobs;
}
