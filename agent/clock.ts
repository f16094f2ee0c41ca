// Time on a box without a real-time clock: the wall clock may be wrong until NTP syncs, so every
// event also carries the boot id and monotonic uptime, and is re-stamped once the clock syncs.

import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';

/** CLOCK_MONOTONIC in ms: on Linux, time since boot (not counting suspend). */
export function uptimeMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

let cachedBootId: string | undefined;
/** The kernel's boot id; a random per-process id where the kernel does not give one. */
export function bootId(): string {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      // Not Linux (a developer's laptop): uptime is then per process, so the id must be too.
      cachedBootId = `proc-${randomUUID()}`;
    }
  }
  return cachedBootId;
}

export type ClockSyncMode = 'assume' | 'timesyncd' | 'file';

export interface ClockConfig {
  /** How to tell the wall clock is trustworthy. */
  sync: ClockSyncMode;
  /** For `file`: the clock counts as synced while this file exists. */
  file?: string;
}

/** Where systemd-timesyncd says "synchronized" (it creates this file on first sync). */
export const TIMESYNCD_FLAG = '/run/systemd/timesync/synchronized';

/** Any wall time before this is certainly wrong (an RTC-less box booting at 1970 or image time). */
const EARLIEST_PLAUSIBLE_MS = Date.UTC(2025, 0, 1);

export function isClockSynced(cfg: ClockConfig): boolean {
  if (Date.now() < EARLIEST_PLAUSIBLE_MS) return false;
  switch (cfg.sync) {
    case 'assume':
      return true;
    case 'timesyncd':
      return existsSync(TIMESYNCD_FLAG);
    case 'file':
      return cfg.file !== undefined && existsSync(cfg.file);
  }
}

/** Wall time of an event at `eventUptimeMs`, computed from the now-synced clock. */
export function restamp(eventUptimeMs: number, nowWallMs = Date.now(), nowUptimeMs = uptimeMs()): number {
  return nowWallMs - (nowUptimeMs - eventUptimeMs);
}
