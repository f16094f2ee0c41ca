// The box's own health (issue 9, DESIGN §8 "System"): sampled on the agent's timer, never per
// request (the page, /api/status, `health` and /metrics read the last sample). Each condition is
// raised once and cleared once:
// - disk free on the outbox volume below `diskLowPercent` → gateway.disk_low with data.source
//   'health' (the outbox raises the same type for a write the disk refused or its own cap, without
//   `source`; a consumer that knew only those still reads "disk trouble"); cleared at threshold + 1 %.
// - CPU temperature at or over `tempHighC` → gateway.temperature_high; cleared 5 °C below.
//   No sensor (these VMs, many x86 boxes) is "unknown", never an error.
// - Raspberry Pi firmware: under-voltage now → gateway.undervoltage; frequency capped, throttled or
//   soft temperature limit now → gateway.throttled; both with the decoded flags. No firmware word
//   (every non-Pi) is "unknown".
import type { Logger } from 'pino';
import { type BoxSample, type BoxSources, realSources, sampleBox } from '../../drivers/system/probe.js';
import { decodeThrottled, type ThrottledFlags } from '../../drivers/system/throttled.js';
import type { EventType } from '../event.js';

export interface BoxHealthConfig {
  intervalSec: number;
  diskLowPercent: number;
  tempHighC: number;
}

export const BOX_HEALTH_DEFAULTS: BoxHealthConfig = { intervalSec: 30, diskLowPercent: 10, tempHighC: 80 };

export interface BoxHealthOptions {
  config: BoxHealthConfig;
  /** The outbox's directory: the volume whose free space matters. */
  diskPath: string;
  emit(ev: { type: EventType; data: Record<string, unknown> }): void;
  log: Logger;
  sources?: BoxSources;
}

const DISK_CLEAR_MARGIN = 1;
const TEMP_CLEAR_MARGIN = 5;

export class GatewayHealth {
  private last: BoxSample | undefined;
  private flags: ThrottledFlags | undefined;
  private sampling: Promise<void> | undefined;
  private readonly raised = { disk: false, temp: false, undervoltage: false, throttled: false };

  constructor(private readonly opts: BoxHealthOptions) {}

  /** One sample (the runtime's timer calls it); overlapping calls share the sample in flight. */
  sample(): Promise<void> {
    this.sampling ??= this.sampleOnce().finally(() => {
      this.sampling = undefined;
    });
    return this.sampling;
  }

  private async sampleOnce(): Promise<void> {
    const s = await sampleBox(this.opts.diskPath, this.opts.sources ?? realSources);
    for (const [probe, error] of Object.entries(s.errors)) {
      if (this.last?.errors[probe] !== error) {
        this.opts.log.warn(
          { code: 'WG_ERR_HEALTH_PROBE', probe, err: error },
          'box health probe failed; reported as unknown',
        );
      }
    }
    this.last = s;
    this.flags = s.throttled === null ? undefined : decodeThrottled(s.throttled);
    const { diskLowPercent, tempHighC } = this.opts.config;
    if (s.disk) {
      const d = {
        source: 'health',
        path: s.disk.path,
        freePercent: round1(s.disk.freePercent),
        freeBytes: s.disk.freeBytes,
        thresholdPercent: diskLowPercent,
      };
      this.judge(
        'disk',
        s.disk.freePercent < diskLowPercent,
        s.disk.freePercent >= diskLowPercent + DISK_CLEAR_MARGIN,
        'gateway.disk_low',
        'gateway.disk_low_cleared',
        d,
      );
    }
    if (s.cpuTempC !== null) {
      const d = { cpuTempC: s.cpuTempC, tempHighC };
      this.judge(
        'temp',
        s.cpuTempC >= tempHighC,
        s.cpuTempC < tempHighC - TEMP_CLEAR_MARGIN,
        'gateway.temperature_high',
        'gateway.temperature_high_cleared',
        d,
      );
    }
    if (this.flags) {
      const f = this.flags;
      const d = { flags: f };
      this.judge(
        'undervoltage',
        f.underVoltage,
        !f.underVoltage,
        'gateway.undervoltage',
        'gateway.undervoltage_cleared',
        d,
      );
      const thr = f.throttled || f.freqCapped || f.softTempLimit;
      this.judge('throttled', thr, !thr, 'gateway.throttled', 'gateway.throttled_cleared', d);
    }
  }

  private judge(
    key: keyof GatewayHealth['raised'],
    raise: boolean,
    clear: boolean,
    raisedType: EventType,
    clearedType: EventType,
    data: Record<string, unknown>,
  ): void {
    if (raise && !this.raised[key]) {
      this.raised[key] = true;
      this.opts.emit({ type: raisedType, data });
    } else if (clear && this.raised[key]) {
      this.raised[key] = false;
      this.opts.emit({ type: clearedType, data });
    }
  }

  /** For `health`, /api/status and the page; "unknown" where the platform has no such value. */
  snapshot(): Record<string, unknown> {
    const s = this.last;
    if (!s) return { sampledAt: null };
    return {
      sampledAt: new Date(s.at).toISOString(),
      cpuTempC: s.cpuTempC ?? 'unknown',
      load: [round2(s.load1), round2(s.load5), round2(s.load15)],
      memory:
        s.memTotalBytes === null ? 'unknown' : { totalBytes: s.memTotalBytes, availableBytes: s.memAvailableBytes },
      disk: s.disk ? { ...s.disk, freePercent: round1(s.disk.freePercent), low: this.raised.disk } : 'unknown',
      uptimeSec: Math.round(s.uptimeSec),
      firmware: this.flags ?? 'unknown',
      raised: { ...this.raised },
      ...(Object.keys(s.errors).length > 0 ? { probeErrors: { code: 'WG_ERR_HEALTH_PROBE', ...s.errors } } : {}),
    };
  }

  /** The last sample, for /metrics. */
  get lastSample(): BoxSample | undefined {
    return this.last;
  }
}

const round1 = (n: number) => Math.round(n * 10) / 10;
const round2 = (n: number) => Math.round(n * 100) / 100;
