// The box's own health, sampled on a timer by the runtime (never per HTTP request: the page and
// /metrics read the last sample). Temperature from Linux's thermal zones (thermal.ts), and only
// where a box has none from systeminformation's CPU module (it knows other platforms' sensors);
// memory from os (MemTotal, MemAvailable); statfs for disk (one syscall, where si.fsSize forks
// `df`); os for load and uptime. Every source may be missing on a platform: a missing value is
// `null` ("unknown"), never an error.
import { statfs } from 'node:fs/promises';
import { freemem, loadavg, totalmem, uptime } from 'node:os';
import { readThermalZones } from './thermal.js';
import { readThrottled } from './throttled.js';

export interface BoxSample {
  at: number;
  /** °C, or null when the platform has no readable sensor. */
  cpuTempC: number | null;
  load1: number;
  load5: number;
  load15: number;
  memTotalBytes: number | null;
  memAvailableBytes: number | null;
  disk: { path: string; totalBytes: number; freeBytes: number; freePercent: number } | null;
  uptimeSec: number;
  /** Raspberry Pi firmware word, null when the platform has none. */
  throttled: number | null;
  /** Probes that failed this time, with the reason (their values are null). */
  errors: Record<string, string>;
}

/** Where each value comes from; tests replace them (a fake statfs when no tmpfs can be mounted). */
export interface BoxSources {
  temperature(): Promise<number | null>;
  memory(): Promise<{ total: number; available: number }>;
  statfs(path: string): Promise<{ bsize: number; blocks: number; bavail: number }>;
  throttled(): Promise<number | undefined>;
}

/**
 * systeminformation's CPU module alone, not its index (which loads every module), imported only
 * on a box without a thermal zone.
 */
type SiCpu = { cpuTemperature(): Promise<{ main: number | null }> };
let siCpu: Promise<SiCpu> | undefined;
const cpuModule = () => {
  // @ts-expect-error: a CommonJS file of the package without its own types (they are on the index).
  siCpu ??= import('systeminformation/lib/cpu.js') as Promise<SiCpu>;
  return siCpu;
};

export const realSources: BoxSources = {
  async temperature() {
    const zone = await readThermalZones();
    if (zone !== undefined) return zone;
    const t = await (await cpuModule()).cpuTemperature();
    // systeminformation says null (or -1 on some platforms) when no sensor exists.
    return typeof t.main === 'number' && t.main > -1 ? t.main : null;
  },
  // libuv's free memory is MemAvailable on Linux (what can be used without swapping).
  memory: async () => ({ total: totalmem(), available: freemem() }),
  statfs: (path) => statfs(path),
  throttled: () => readThrottled(),
};

export async function sampleBox(diskPath: string, sources: BoxSources = realSources): Promise<BoxSample> {
  const errors: Record<string, string> = {};
  const attempt = async <T>(name: string, fn: () => Promise<T>): Promise<T | null> => {
    try {
      return await fn();
    } catch (err) {
      errors[name] = err instanceof Error ? err.message : String(err);
      return null;
    }
  };
  const [temp, mem, fs, thr] = await Promise.all([
    attempt('temperature', () => sources.temperature()),
    attempt('memory', () => sources.memory()),
    attempt('disk', () => sources.statfs(diskPath)),
    attempt('throttled', () => sources.throttled()),
  ]);
  const [load1, load5, load15] = loadavg() as [number, number, number];
  return {
    at: Date.now(),
    cpuTempC: temp,
    load1,
    load5,
    load15,
    memTotalBytes: mem?.total ?? null,
    memAvailableBytes: mem?.available ?? null,
    disk:
      fs && fs.blocks > 0
        ? {
            path: diskPath,
            totalBytes: fs.blocks * fs.bsize,
            freeBytes: fs.bavail * fs.bsize,
            freePercent: (fs.bavail / fs.blocks) * 100,
          }
        : null,
    uptimeSec: uptime(),
    throttled: thr ?? null,
    errors,
  };
}
