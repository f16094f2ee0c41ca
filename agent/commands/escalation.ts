// Receipts and escalation (issue 10, DESIGN §7): a broker's PUBACK is not the control room, so a
// critical event that the control room has not acknowledged (`alarm.ack`) within
// `escalation.afterSec` raises `alarm.unacknowledged` (high) on this box — from the alarm's own
// device, so local rules can `from:` it (light a strobe, sound a local sounder). It runs on local
// timers only: it fires whether or not the uplink is up, which is exactly when it matters most.
//
// Critical events are also remembered here (bounded, for a day) so `alarm.ack` can name an alarm
// that has already cleared: a momentary panic button is released long before anyone acknowledges.
import type { WgEvent } from '../event.js';

export interface TrackedAlarm {
  id: string;
  seq: number | undefined;
  device: string;
  deviceType: string;
  type: string;
  ts: string;
  at: number;
  acknowledged: boolean;
  escalated: boolean;
}

export interface EscalationOptions {
  /** 0 or undefined: remember alarms for alarm.ack, never escalate. */
  afterSec: number | undefined;
  raise(alarm: TrackedAlarm): void;
  now?: () => number;
}

const MAX_TRACKED = 5000;
const KEEP_MS = 24 * 3_600_000;

type Trackable = Pick<WgEvent, 'id' | 'device' | 'deviceType' | 'type' | 'severity' | 'ts' | 'data'> & { seq?: number };

export class Escalation {
  private readonly byId = new Map<string, TrackedAlarm>();
  private readonly bySeq = new Map<number, TrackedAlarm>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly now: () => number;
  raised = 0;

  constructor(private readonly opts: EscalationOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Every event, on the alarm path (before it is durable): synchronous, never throws. */
  onEvent(ev: Trackable): void {
    if (ev.severity !== 'critical' || ev.data?.test === true || this.byId.has(ev.id)) return;
    this.forgetOld();
    const a: TrackedAlarm = {
      id: ev.id,
      seq: ev.seq,
      device: ev.device,
      deviceType: ev.deviceType,
      type: ev.type,
      ts: ev.ts,
      at: this.now(),
      acknowledged: false,
      escalated: false,
    };
    this.byId.set(a.id, a);
    if (a.seq !== undefined) this.bySeq.set(a.seq, a);
    const after = this.opts.afterSec;
    if (!after) return;
    const t = setTimeout(() => {
      this.timers.delete(a.id);
      if (a.acknowledged) return;
      a.escalated = true;
      this.raised++;
      this.opts.raise(a);
    }, after * 1000);
    this.timers.set(a.id, t);
  }

  /** The event's seq, once the outbox has accepted it (alarm.ack may name it by seq). */
  onAccepted(ev: Pick<WgEvent, 'id' | 'seq'>): void {
    const a = this.byId.get(ev.id);
    if (!a || a.seq !== undefined) return;
    a.seq = ev.seq;
    this.bySeq.set(ev.seq, a);
  }

  find(ref: { id?: string; seq?: number }): TrackedAlarm | undefined {
    return ref.id !== undefined ? this.byId.get(ref.id) : ref.seq !== undefined ? this.bySeq.get(ref.seq) : undefined;
  }

  /** The control room acknowledged it: no escalation. */
  acknowledged(id: string): void {
    const a = this.byId.get(id);
    if (a) a.acknowledged = true;
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }

  /** Alarms waiting for the control room now (for /api/status). */
  get waiting(): number {
    return this.timers.size;
  }

  private forgetOld(): void {
    const now = this.now();
    for (const a of this.byId.values()) {
      if (this.byId.size < MAX_TRACKED && now - a.at < KEEP_MS) break; // oldest first (insertion order)
      this.byId.delete(a.id);
      if (a.seq !== undefined) this.bySeq.delete(a.seq);
      const t = this.timers.get(a.id);
      if (t) clearTimeout(t);
      this.timers.delete(a.id);
    }
  }

  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
