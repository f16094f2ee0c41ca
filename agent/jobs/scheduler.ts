// Scheduled jobs in one place (issue 12), on node-cron. Every job is guarded the same way:
//  - overlap: a turn that comes while the previous one still runs is skipped and said once
//    (WG_ERR_JOB_OVERLAP) — a slow SD card must not pile up checkpoints or self-tests;
//  - failure: a throw or a rejection is logged with WG_ERR_JOB_FAILED and the job runs again at
//    its next turn; nothing reaches the process.
// node-cron's own noOverlap is not used: we want the skip counted and logged with our code.
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';

export type Schedule = { cron: string } | { everySec: number };

export interface JobState {
  name: string;
  schedule: string;
  runs: number;
  failures: number;
  overlapsSkipped: number;
  running: boolean;
  lastStartedAt: string | null;
  lastFinishedAt: string | null;
  lastError: string | null;
}

/** Every N seconds as a cron expression when cron can say it exactly, else undefined. */
export function everyAsCron(sec: number): string | undefined {
  if (sec > 0 && sec < 60 && 60 % sec === 0) return `*/${sec} * * * * *`;
  if (sec % 60 === 0 && sec / 60 < 60 && 60 % (sec / 60) === 0) return `0 */${sec / 60} * * * *`;
  if (sec === 3600) return '0 0 * * * *';
  return undefined;
}

/** "03:30" → a daily cron expression (seconds field first). */
export function dailyAt(hhmm: string): string {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!m) throw new Error(`not a time of day (HH:MM): ${hhmm}`);
  return `0 ${Number(m[2])} ${Number(m[1])} * * *`;
}

interface Job {
  state: JobState;
  fn: () => unknown;
  stop: () => void;
}

export class Jobs {
  private readonly jobs = new Map<string, Job>();

  private readonly timezone: string | undefined;

  constructor(
    private readonly log: Logger,
    timezone?: string,
  ) {
    // An unknown zone would make node-cron throw at start: use the box's time and say so.
    try {
      if (timezone) new Intl.DateTimeFormat('en', { timeZone: timezone });
      this.timezone = timezone;
    } catch {
      log.error(
        { code: 'WG_ERR_CONFIG_INVALID', timezone },
        'jobs.timezone is not a known time zone; using the box time',
      );
      this.timezone = undefined;
    }
  }

  add(name: string, schedule: Schedule, fn: () => unknown): void {
    this.remove(name);
    const state: JobState = {
      name,
      schedule: 'cron' in schedule ? schedule.cron : `every ${schedule.everySec} s`,
      runs: 0,
      failures: 0,
      overlapsSkipped: 0,
      running: false,
      lastStartedAt: null,
      lastFinishedAt: null,
      lastError: null,
    };
    const job: Job = { state, fn, stop: () => {} };
    const expr = 'cron' in schedule ? schedule.cron : everyAsCron(schedule.everySec);
    if (expr !== undefined) {
      const task: ScheduledTask = cron.schedule(expr, () => void this.run(name), {
        name,
        unref: true,
        ...(this.timezone ? { timezone: this.timezone } : {}),
      });
      job.stop = () => void task.destroy();
    } else if ('everySec' in schedule) {
      // A period cron cannot express (e.g. 45 s): a plain interval, with the same guard.
      const t = setInterval(() => void this.run(name), schedule.everySec * 1000);
      t.unref();
      job.stop = () => clearInterval(t);
    }
    this.jobs.set(name, job);
  }

  remove(name: string): void {
    this.jobs.get(name)?.stop();
    this.jobs.delete(name);
  }

  /** Run a job now (its schedule, the page, tests), with the same guard. Resolves when done. */
  async run(name: string): Promise<boolean> {
    const job = this.jobs.get(name);
    if (!job) return false;
    const s = job.state;
    if (s.running) {
      s.overlapsSkipped++;
      this.log.warn(
        { code: 'WG_ERR_JOB_OVERLAP', job: name, skipped: s.overlapsSkipped },
        `${name}: still running, turn skipped`,
      );
      return false;
    }
    s.running = true;
    s.lastStartedAt = new Date().toISOString();
    try {
      await job.fn();
      s.runs++;
      s.lastError = null;
      return true;
    } catch (err) {
      s.failures++;
      s.lastError = err instanceof Error ? err.message : String(err);
      this.log.error({ code: 'WG_ERR_JOB_FAILED', job: name, err }, `${name} failed`);
      return false;
    } finally {
      s.running = false;
      s.lastFinishedAt = new Date().toISOString();
    }
  }

  states(): JobState[] {
    return [...this.jobs.values()].map((j) => ({ ...j.state }));
  }

  stopAll(): void {
    for (const name of [...this.jobs.keys()]) this.remove(name);
  }
}
