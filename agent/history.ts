// Recent events in memory, for the technician's page: the last N accepted (durable) events per
// device and overall, and the live tap the page's server-sent events are fed from. Bounded by
// construction (rings), never on disk, so it costs the alarm path one array push per event.
import type { WgEvent } from './event.js';

export type EventListener = (events: readonly WgEvent[]) => void;

export class EventHistory {
  private readonly byDevice = new Map<string, WgEvent[]>();
  private readonly all: WgEvent[] = [];
  private readonly listeners = new Set<EventListener>();

  constructor(
    readonly perDevice = 30,
    readonly overall = 300,
    /** Devices remembered at most: ids come from the config, this only guards a bug. */
    private readonly maxDevices = 2048,
  ) {}

  /** Events the outbox has just made durable. Listeners run after the rings are updated. */
  add(events: readonly WgEvent[]): void {
    if (events.length === 0) return;
    for (const ev of events) {
      let ring = this.byDevice.get(ev.device);
      if (!ring) {
        if (this.byDevice.size >= this.maxDevices) continue;
        ring = [];
        this.byDevice.set(ev.device, ring);
      }
      ring.push(ev);
      if (ring.length > this.perDevice) ring.shift();
      this.all.push(ev);
    }
    if (this.all.length > this.overall) this.all.splice(0, this.all.length - this.overall);
    for (const l of this.listeners) l(events);
  }

  /** Newest first. */
  forDevice(id: string): WgEvent[] {
    return [...(this.byDevice.get(id) ?? [])].reverse();
  }

  /** Oldest first (the order the page appends them in). */
  recent(): WgEvent[] {
    return [...this.all];
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
