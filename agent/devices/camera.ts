// Camera model (issue 9): ONVIF check results → camera events. Three event states from EdgeX's four
// (online; auth_failed; offline = reachable by TCP only or unreachable, the detail in `reach`), so
// a camera flapping between "TCP only" and "unreachable" is still one outage. Every event carries
// `covers`: the control room sends a patrol to the area while the camera is dark.
//
// At boot an online camera is not news (its retained state says so); a dark one is. Clock drift
// and a frozen image are judged only while the camera is online, each raised once and cleared once.

import type { CameraObservation, Reach } from '../../drivers/onvif/check.js';
import type { Reading } from '../../drivers/types.js';
import type { CameraConfig } from '../config/types.js';
import { type ErrorCode, WardgateError } from '../errors.js';
import type { EventType } from '../event.js';
import type { DeviceModel, DeviceModelContext, PointBinding } from './types.js';

type Status = 'online' | 'auth_failed' | 'offline';

/** The sim camera's switches (drivers/onvif/kind.ts), what `POST /api/sim/{camera}/{input}` takes. */
export const CAMERA_SIM_INPUTS = ['offline', 'auth-failed', 'clock-wrong', 'frozen', 'garbage', 'hang'] as const;

const statusOf = (reach: Reach): Status =>
  reach === 'online' ? 'online' : reach === 'auth_failed' ? 'auth_failed' : 'offline';

export class CameraModel implements DeviceModel {
  readonly id: string;
  readonly type = 'camera';
  readonly points: readonly PointBinding[];
  private status: Status | undefined;
  private last: CameraObservation | undefined;
  private lastCheckAt: number | undefined;
  private clockDrift = false;
  private lastHash: string | undefined;
  private unchanged = 0;
  private stale = false;

  constructor(
    private readonly cfg: CameraConfig,
    private readonly ctx: DeviceModelContext,
    /** One on-demand ONVIF check of this camera (the ONVIF kind routes it to its driver). */
    private readonly checkNow?: (point: string) => Promise<CameraObservation>,
  ) {
    this.id = cfg.id;
    this.points = [{ driver: 'onvif', point: cfg.id, name: 'onvif', pollMs: cfg.checkSec * 1000 }];
  }

  onReading(_name: string, reading: Reading): void {
    const obs = reading.value as CameraObservation;
    const at = { ts: reading.ts, uptimeMs: reading.uptimeMs };
    this.last = obs;
    this.lastCheckAt = reading.ts;
    const status = statusOf(obs.reach);
    if (status !== this.status) {
      const boot = this.status === undefined;
      this.status = status;
      // A frozen-image verdict belongs to one stretch of being online.
      this.lastHash = undefined;
      this.unchanged = 0;
      this.stale = false;
      if (!(boot && status === 'online')) {
        this.emit(`camera.${status}` as EventType, at, {
          reach: obs.reach,
          ...(obs.errorCode ? { code: obs.errorCode, error: obs.error } : {}),
        });
      }
      this.ctx.setAvailability?.(status === 'online', status === 'online' ? undefined : (obs.errorCode ?? status), {
        announce: false,
      });
    }
    if (status === 'online') {
      this.judgeClock(obs, at);
      this.judgeImage(obs, at);
    }
    this.ctx.stateChanged();
  }

  private judgeClock(obs: CameraObservation, at: { ts: number; uptimeMs: number }): void {
    if (obs.driftMs === undefined) return;
    const over = Math.abs(obs.driftMs) > this.cfg.maxClockDriftSec * 1000;
    const driftSec = Math.round(obs.driftMs / 100) / 10;
    if (over && !this.clockDrift)
      this.emit('camera.clock_drift', at, { driftSec, maxClockDriftSec: this.cfg.maxClockDriftSec });
    else if (!over && this.clockDrift) this.emit('camera.clock_drift_cleared', at, { driftSec });
    this.clockDrift = over;
  }

  private judgeImage(obs: CameraObservation, at: { ts: number; uptimeMs: number }): void {
    const staleChecks = this.cfg.snapshot?.staleChecks;
    if (staleChecks === undefined || obs.snapshotHash === undefined) return;
    if (obs.snapshotHash === this.lastHash) this.unchanged++;
    else {
      this.unchanged = 0;
      if (this.stale) this.emit('camera.image_stale_cleared', at, {});
      this.stale = false;
    }
    this.lastHash = obs.snapshotHash;
    if (!this.stale && this.unchanged >= staleChecks) {
      this.stale = true;
      this.emit('camera.image_stale', at, { unchangedChecks: this.unchanged, checkSec: this.cfg.checkSec });
    }
  }

  private emit(type: EventType, at: { ts: number; uptimeMs: number }, data: Record<string, unknown>): void {
    this.ctx.emit({ type, at, data: { covers: this.cfg.covers, ...data } });
  }

  state(): Record<string, unknown> {
    const o = this.last;
    return {
      covers: this.cfg.covers,
      status: this.status ?? 'unknown',
      reach: o?.reach ?? 'unknown',
      lastCheck: this.lastCheckAt ? new Date(this.lastCheckAt).toISOString() : null,
      clockDriftSec: o?.driftMs !== undefined ? Math.round(o.driftMs / 100) / 10 : null,
      clockDrift: this.clockDrift,
      ...(this.cfg.snapshot ? { imageStale: this.stale, unchangedChecks: this.unchanged } : {}),
      ...(o?.info ? { info: o.info } : {}),
      ...(o?.errorCode ? { lastErrorCode: o.errorCode, lastError: o.error } : {}),
      ...(o?.snapshotErrorCode ? { snapshotErrorCode: o.snapshotErrorCode, snapshotError: o.snapshotError } : {}),
    };
  }

  /**
   * "Probe now" (issue 11): GetSystemDateAndTime + GetDeviceInformation once, now. A camera that
   * does not answer with auth is refused with its code (WG_ERR_ONVIF_*), its reach in the message.
   * Never the credentials: only what the camera said.
   */
  async probe(): Promise<Record<string, unknown>> {
    const point = this.points[0]?.point ?? this.cfg.id;
    if (!this.checkNow) throw new WardgateError('WG_ERR_DRIVER_FAULT', `${this.cfg.id}: no ONVIF driver to probe`);
    const o = await this.checkNow(point);
    if (o.reach !== 'online')
      throw new WardgateError(
        (o.errorCode ?? 'WG_ERR_ONVIF_UNREACHABLE') as ErrorCode,
        `${this.cfg.id}: ${o.reach}: ${o.error ?? ''}`.trim(),
      );
    return {
      reach: o.reach,
      info: o.info ?? {},
      cameraTime: o.cameraTime ?? null,
      clockDriftSec: o.driftMs !== undefined ? Math.round(o.driftMs / 100) / 10 : null,
    };
  }

  simInputs(): string[] {
    return this.cfg.simulate ? [...CAMERA_SIM_INPUTS] : [];
  }

  stop(): void {
    // Nothing timed: the driver owns the schedule.
  }
}
