// The ONVIF driver: one health check per camera per interval, the cameras' slots spread evenly
// over the interval (camera i of n starts at i/n of it) so 50 cameras never fire at once and the
// gateway's load stays flat. A camera's next check waits for its previous one (a hung camera costs
// its own timeout, never a pile-up). It reports what it saw; the camera model decides the events.
import { uptimeMs } from '../../agent/clock.js';
import { WardgateError } from '../../agent/errors.js';
import type { Driver, DriverContext, DriverHealth } from '../types.js';
import { type CameraObservation, CameraSession, type CameraTarget } from './check.js';

export interface OnvifPoint {
  point: string;
  target: CameraTarget;
  checkMs: number;
}

interface Slot {
  p: OnvifPoint;
  session: CameraSession;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
  last?: CameraObservation;
}

export class OnvifDriver implements Driver {
  readonly name = 'onvif';
  private ctx: DriverContext | undefined;
  private stopped = false;
  private readonly slots: Slot[];
  private readonly counters = { checks: 0, failed: 0 };

  constructor(points: OnvifPoint[]) {
    this.slots = points.map((p) => ({ p, session: new CameraSession(p.target), timer: undefined, running: undefined }));
  }

  async start(ctx: DriverContext): Promise<void> {
    this.ctx = ctx;
    this.stopped = false;
    const n = Math.max(1, this.slots.length);
    for (const [i, s] of this.slots.entries()) this.schedule(s, Math.round((s.p.checkMs * i) / n));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.slots) clearTimeout(s.timer);
    // Checks in flight are cut short (a hung camera would hold the stop for its whole deadline).
    for (const s of this.slots) s.session.close();
    await Promise.all(this.slots.map((s) => s.running));
  }

  /**
   * "Probe now" (issue 11): one check of one camera at once, on its own session (the scheduled
   * check keeps its own, so neither cuts the other short), without the snapshot.
   */
  async probe(point: string): Promise<CameraObservation> {
    const s = this.slots.find((x) => x.p.point === point);
    if (!s) throw new WardgateError('WG_ERR_HTTP_NOT_FOUND', `no ONVIF camera ${point}`);
    if (this.stopped || !this.ctx)
      throw new WardgateError('WG_ERR_ONVIF_UNREACHABLE', 'the ONVIF driver is not running');
    const session = new CameraSession({ ...s.p.target, snapshot: false });
    try {
      return await session.check();
    } finally {
      session.close();
    }
  }

  health(): DriverHealth {
    const bad = this.slots.filter((s) => s.last && s.last.reach !== 'online');
    const first = bad[0]?.last;
    return {
      state: this.stopped ? 'stopped' : bad.length > 0 ? 'degraded' : 'running',
      ...(first?.errorCode ? { lastErrorCode: first.errorCode, lastError: first.error ?? '' } : {}),
      counters: { ...this.counters, cameras: this.slots.length, notOnline: bad.length },
      points: Object.fromEntries(
        this.slots.map((s) => [
          s.p.point,
          !s.last || s.last.reach === 'online'
            ? { ok: true }
            : { ok: false, detail: `${s.last.reach}: ${s.last.errorCode ?? ''} ${s.last.error ?? ''}`.trim() },
        ]),
      ),
    };
  }

  private schedule(s: Slot, delayMs: number): void {
    if (this.stopped) return;
    const due = Date.now() + delayMs;
    s.timer = setTimeout(() => {
      s.running = this.check(s).finally(() => {
        s.running = undefined;
        // Keep the camera's slot: the next check is one interval after this one was due.
        this.schedule(s, Math.max(0, due + s.p.checkMs - Date.now()));
      });
    }, delayMs);
  }

  private async check(s: Slot): Promise<void> {
    this.counters.checks++;
    const obs = await s.session.check();
    if (obs.reach !== 'online') this.counters.failed++;
    s.last = obs;
    if (this.stopped || !this.ctx || this.ctx.signal.aborted) return;
    this.ctx.emit({ point: s.p.point, value: obs, ts: Date.now(), uptimeMs: uptimeMs() });
  }
}
