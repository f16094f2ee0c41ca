// Scheduled jobs in one place (issue 12). Every job is guarded the same way:
//  - overlap: a turn that comes while the previous one still runs is skipped and said once
//    (WG_ERR_JOB_OVERLAP) — a slow SD card must not pile up checkpoints or self-tests;
//  - failure: a throw or a rejection is logged with WG_ERR_JOB_FAILED and the job runs again at
//    its next turn; nothing reaches the process.
// Periods are plain intervals. A time of day in the box's own zone is found with Date's local-time
// methods; only `jobs.timezone` loads node-cron, whose every turn formats dates with
// Intl.DateTimeFormat: ICU's formatter data alone is ~8 MiB of RSS, node-cron ~3.5 MiB more, on a
// box whose idle footprint issue 13 bounds. node-cron's own noOverlap is not used: we want the
// skip counted and logged with our code.
import type { Logger } from 'pino';

export type Schedule = { daily: string } | { everySec: number };

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

/** "03:30" → [hour, minute]. */
export function timeOfDay(hhmm: string): [number, number] {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!m) throw new Error(`not a time of day (HH:MM): ${hhmm}`);
  return [Number(m[1]), Number(m[2])];
}

/** The next `hh:mm` in the box's local time strictly after `now` (ms). A time the clock skips on
 *  a spring-forward day comes out as the same moment shifted forward (02:30 → 03:30); one the
 *  clock passes twice in the autumn, the first time. */
export function nextLocal(now: number, [hh, mm]: [number, number]): number {
  const d = new Date(now);
  d.setHours(hh, mm, 0, 0);
  if (d.getTime() <= now) {
    d.setDate(d.getDate() + 1);
    d.setHours(hh, mm, 0, 0);
  }
  return d.getTime();
}

/** A daily timer looks at the wall clock at least this often, so it follows the clock when NTP
 *  steps it (a box without an RTC boots at its last saved time). */
const WALL_CHECK_MS = 60_000;
/** A turn found later than this was passed by a clock step or a suspended process, not reached:
 *  it is not run, the next one is. */
const LATE_MS = 2 * WALL_CHECK_MS;

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
      schedule:
        'everySec' in schedule
          ? `every ${schedule.everySec} s`
          : `daily ${schedule.daily}${this.timezone ? ` ${this.timezone}` : ''}`,
      runs: 0,
      failures: 0,
      overlapsSkipped: 0,
      running: false,
      lastStartedAt: null,
      lastFinishedAt: null,
      lastError: null,
    };
    const job: Job = { state, fn, stop: () => {} };
    if ('everySec' in schedule) {
      const t = setInterval(() => void this.run(name), schedule.everySec * 1000);
      t.unref();
      job.stop = () => clearInterval(t);
    } else if (this.timezone) {
      job.stop = this.dailyInZone(name, timeOfDay(schedule.daily), this.timezone);
    } else {
      job.stop = this.dailyLocal(name, timeOfDay(schedule.daily));
    }
    this.jobs.set(name, job);
  }

  /** Daily at hh:mm box time: a timeout to the next turn, re-armed at least every minute. */
  private dailyLocal(name: string, at: [number, number]): () => void {
    let due = nextLocal(Date.now(), at);
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      timer = setTimeout(tick, Math.min(Math.max(due - Date.now(), 0), WALL_CHECK_MS));
      timer.unref();
    };
    const tick = () => {
      const now = Date.now();
      if (now < due) {
        // Not yet, or the clock was stepped back: the turn is still the next hh:mm after now.
        due = Math.min(due, nextLocal(now, at));
      } else {
        if (now - due <= LATE_MS) void this.run(name);
        else
          this.log.info(
            { job: name, dueAt: new Date(due).toISOString() },
            `${name}: turn passed by a clock step, not run`,
          );
        due = nextLocal(now, at);
      }
      arm();
    };
    arm();
    return () => clearTimeout(timer);
  }

  /** Daily at hh:mm in `jobs.timezone`: node-cron, loaded only for this (see the top). */
  private dailyInZone(name: string, [hh, mm]: [number, number], timezone: string): () => void {
    let stopped = false;
    let destroy: (() => void) | undefined;
    import('node-cron').then(
      ({ default: cron }) => {
        if (stopped) return;
        const task = cron.schedule(`0 ${mm} ${hh} * * *`, () => void this.run(name), { name, timezone, unref: true });
        destroy = () => void task.destroy();
      },
      (err: unknown) => this.log.error({ code: 'WG_ERR_JOB_FAILED', job: name, err }, `${name}: cannot schedule`),
    );
    return () => {
      stopped = true;
      destroy?.();
    };
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
