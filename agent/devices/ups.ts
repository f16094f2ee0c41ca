// UPS model (issue 9): NUT readings → power events. `ups.status` flags (NUT's docs/new-names):
// OL on line, OB on battery, LB low battery, FSD forced shutdown (set by the primary upsmon: as
// good as LB). upsd says WAIT before its driver's first dump: not a state, no event.
//
// Events fire on transitions only, so a poll every 2 s costs nothing downstream. At boot an OL UPS
// is not news; OB or LB at boot is. One failed poll is not an outage (DATA-STALE happens on a busy
// serial UPS): upsd or the driver must fail OFFLINE_AFTER polls in a row for `ups.offline`.

import type { NutReadingValue } from '../../drivers/nut/driver.js';
import { nutPoint } from '../../drivers/nut/driver.js';
import { statusFlags } from '../../drivers/nut/protocol.js';
import { runShutdownCommand } from '../../drivers/nut/shutdown.js';
import { NUT_SIM_INPUTS } from '../../drivers/nut/sim-server.js';
import type { Reading } from '../../drivers/types.js';
import type { UpsConfig } from '../config/types.js';
import type { DeviceModel, DeviceModelContext, PointBinding } from './types.js';

const OFFLINE_AFTER = 2;

/** What the UPS model needs beyond the contract: a way to ask the agent to stop cleanly. */
export type UpsModelContext = DeviceModelContext & { requestStop?(reason: string): Promise<void> };

export class UpsModel implements DeviceModel {
  readonly id: string;
  readonly type = 'ups';
  readonly points: readonly PointBinding[];
  private reach: 'unknown' | 'online' | 'offline' = 'unknown';
  private power: 'mains' | 'battery' | undefined;
  private low = false;
  private failures = 0;
  private stopRequested = false;
  private vars: Record<string, string> = {};
  private lastErrorCode: string | undefined;
  private lastError: string | undefined;

  constructor(
    private readonly cfg: UpsConfig,
    private readonly ctx: UpsModelContext,
  ) {
    this.id = cfg.id;
    this.points = [
      // The point is the device id: a simulated UPS's port is only known when its driver starts.
      { driver: 'nut', point: cfg.id, name: 'ups', pollMs: cfg.pollSec * 1000 },
    ];
  }

  onReading(_name: string, reading: Reading): void {
    const v = reading.value as NutReadingValue;
    const at = { ts: reading.ts, uptimeMs: reading.uptimeMs };
    if (v.kind === 'error') {
      this.onError(v, at);
      return;
    }
    this.failures = 0;
    this.lastErrorCode = undefined;
    this.lastError = undefined;
    this.vars = v.vars;
    const flags = statusFlags(v.vars['ups.status']);
    if (flags.length === 0 || flags.includes('WAIT')) {
      this.ctx.stateChanged();
      return;
    }
    if (this.reach !== 'online') {
      if (this.reach === 'offline') this.ctx.emit({ type: 'ups.online', data: this.data(flags), at });
      this.reach = 'online';
      this.ctx.setAvailability?.(true, undefined, { announce: false });
    }
    const power = flags.includes('OB') ? 'battery' : flags.includes('OL') ? 'mains' : this.power;
    const runtime = this.num('battery.runtime');
    const threshold = this.cfg.onLowBattery.runtimeSec;
    const lowByRuntime = power === 'battery' && threshold !== undefined && runtime !== undefined && runtime < threshold;
    const low = flags.includes('LB') || flags.includes('FSD') || lowByRuntime;

    if (power !== this.power) {
      // At boot, mains is the normal state and says nothing; battery is news.
      if (power === 'battery') this.ctx.emit({ type: 'ups.on_battery', data: this.data(flags), at });
      else if (power === 'mains' && this.power !== undefined)
        this.ctx.emit({ type: 'ups.on_mains', data: this.data(flags), at });
      this.power = power;
    }
    if (low && !this.low) {
      const reason = flags.includes('LB') ? 'LB' : flags.includes('FSD') ? 'FSD' : 'runtime';
      this.ctx.emit({ type: 'ups.low_battery', data: { ...this.data(flags), reason }, at });
      if (this.cfg.onLowBattery.stop && !this.stopRequested) {
        this.stopRequested = true;
        this.ctx.log.warn({ reason, runtimeSec: runtime }, 'UPS low battery: stopping the gateway cleanly');
        this.lowBatteryStop();
      }
    }
    this.low = low;
    this.ctx.stateChanged();
  }

  /**
   * The agent stops cleanly (drivers, gateway.stopping, a bounded flush; the outbox keeps the rest
   * for the next boot), and only then the box itself, if configured: never the OS under a running
   * outbox.
   */
  private lowBatteryStop(): void {
    const request = this.ctx.requestStop;
    if (!request) {
      this.ctx.log.error('this runtime cannot stop on request; the gateway keeps running on battery');
      return;
    }
    const command = this.cfg.onLowBattery.shutdownCommand;
    request('ups-low-battery')
      .then(() => (command ? runShutdownCommand(command, this.ctx.log) : undefined))
      .catch((err: unknown) => this.ctx.log.error({ err, code: 'WG_ERR_STOP_TIMEOUT' }, 'low-battery stop failed'));
  }

  private onError(v: Extract<NutReadingValue, { kind: 'error' }>, at: { ts: number; uptimeMs: number }): void {
    this.failures++;
    this.lastErrorCode = v.code;
    this.lastError = v.error;
    if (this.reach !== 'offline' && (this.failures >= OFFLINE_AFTER || this.reach === 'unknown')) {
      this.reach = 'offline';
      const reason = v.nutCode ?? v.code;
      this.ctx.emit({
        type: 'ups.offline',
        data: { ups: this.upsName(), code: v.code, ...(v.nutCode ? { nutCode: v.nutCode } : {}), error: v.error },
        at,
      });
      this.ctx.setAvailability?.(false, reason, { announce: false });
    }
    this.ctx.stateChanged();
  }

  private num(name: string): number | undefined {
    const raw = this.vars[name];
    const n = raw === undefined ? Number.NaN : Number(raw);
    return Number.isFinite(n) ? n : undefined;
  }

  private upsName(): string {
    return nutPoint(this.cfg.nut.ups, this.cfg.nut.host, this.cfg.nut.port);
  }

  private data(flags: string[]): Record<string, unknown> {
    return {
      ups: this.upsName(),
      status: flags.join(' '),
      chargePercent: this.num('battery.charge') ?? null,
      runtimeSec: this.num('battery.runtime') ?? null,
      loadPercent: this.num('ups.load') ?? null,
    };
  }

  state(): Record<string, unknown> {
    const flags = statusFlags(this.vars['ups.status']);
    return {
      nut: this.reach,
      power: this.power ?? 'unknown',
      lowBattery: this.low,
      status: flags.join(' ') || null,
      chargePercent: this.num('battery.charge') ?? null,
      runtimeSec: this.num('battery.runtime') ?? null,
      loadPercent: this.num('ups.load') ?? null,
      ...(this.vars['device.model'] || this.vars['ups.model']
        ? { model: this.vars['device.model'] ?? this.vars['ups.model'] }
        : {}),
      ...(this.lastErrorCode ? { lastErrorCode: this.lastErrorCode, lastError: this.lastError } : {}),
    };
  }

  simInputs(): string[] {
    return this.cfg.simulate ? [...NUT_SIM_INPUTS] : [];
  }

  stop(): void {
    // Nothing timed: the driver owns the schedule.
  }
}
