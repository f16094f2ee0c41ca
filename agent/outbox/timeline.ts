// Where an alarm's time goes (issue 13): one press stamped at each stage of its path — the input
// reaching the agent (edge), the device model's event, the outbox's accept, the FULL commit, the
// drain picking the row up, the publish handed to the socket, the broker's PUBACK. Only critical
// and high events are stamped (a handful a day: telemetry pays nothing); stamps are
// performance.now() values kept on the event (a symbol key, never serialised) until its commit
// gives it a seq, then by seq until its PUBACK. Consumers: /metrics histograms, the latency bench.
import type { NewEvent } from '../event.js';

export const STAGES = ['edge', 'model', 'accept', 'commit', 'pickup', 'publish', 'puback'] as const;
export type Stage = (typeof STAGES)[number];
export const EDGE = 0;
export const MODEL = 1;
export const ACCEPT = 2;
export const COMMIT = 3;
export const PICKUP = 4;
export const PUBLISH = 5;
export const PUBACK = 6;

const STAMPS = Symbol('wardgate.timeline');
type Stamped = NewEvent & { [STAMPS]?: Float64Array };
/** Alarms waiting for their PUBACK longer than this are forgotten (a drop resends them later). */
const MAX_OPEN = 256;

export class AlarmTimeline {
  /** When the latest input reading reached the agent (an event made in the same turn came from it). */
  private edgeAt = 0;
  private readonly open = new Map<number, Float64Array>();
  private readonly listeners: Array<(stamps: Float64Array) => void> = [];

  /** Called with the seven stamps (ms, STAGES order; 0 where a stage was not seen) at each PUBACK. */
  onComplete(listener: (stamps: Float64Array) => void): void {
    this.listeners.push(listener);
  }

  /** An input reading reached the agent. */
  edge(): void {
    this.edgeAt = performance.now();
  }

  /** A model made `ev`: stamp it if it is an alarm. */
  model(ev: NewEvent): void {
    if (ev.severity !== 'critical' && ev.severity !== 'high') return;
    const s = new Float64Array(STAGES.length);
    const now = performance.now();
    // The edge counts only if it arrived in this very turn (a debounced event fires from a timer).
    s[EDGE] = now - this.edgeAt < 50 ? this.edgeAt : now;
    s[MODEL] = now;
    (ev as Stamped)[STAMPS] = s;
  }

  accept(ev: NewEvent): void {
    const s = (ev as Stamped)[STAMPS];
    if (s) s[ACCEPT] = performance.now();
  }

  /** The commit that gave `ev` its seq returned. */
  committed(ev: NewEvent, seq: number, at: number): void {
    const s = (ev as Stamped)[STAMPS];
    if (!s) return;
    s[COMMIT] = at;
    if (this.open.size >= MAX_OPEN) this.open.clear();
    this.open.set(seq, s);
  }

  /** The drain reached row `seq` (PICKUP) or handed it to the socket (PUBLISH). */
  stamp(seq: number, stage: number): void {
    if (this.open.size === 0) return;
    const s = this.open.get(seq);
    if (s) s[stage] = performance.now();
  }

  puback(seq: number): void {
    if (this.open.size === 0) return;
    const s = this.open.get(seq);
    if (!s) return;
    s[PUBACK] = performance.now();
    this.open.delete(seq);
    for (const l of this.listeners) l(s);
  }
}

/** Per-stage durations of one completed timeline, in ms: `[stage, ms since the previous stage]`. */
export function stageDurations(s: Float64Array): Array<[Stage, number]> {
  const out: Array<[Stage, number]> = [];
  let prev = s[EDGE] as number;
  for (let i = 1; i < STAGES.length; i++) {
    const t = s[i] as number;
    if (t === 0) continue;
    out.push([STAGES[i] as Stage, t - prev]);
    prev = t;
  }
  return out;
}
