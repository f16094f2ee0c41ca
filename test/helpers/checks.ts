// Assertions over what a subscriber received, shared by the outage, crash and flap tests.
import type { WgEvent } from '../../agent/event.js';

const LANES = ['critical', 'high', 'normal', 'low'];

/** Within each lane, first arrivals (after dedup by id) come in strictly increasing seq. */
export function laneOrderViolations(events: WgEvent[]): string[] {
  const seen = new Set<string>();
  const last = new Map<string, number>();
  const problems: string[] = [];
  for (const e of events) {
    if (seen.has(e.id)) continue;
    seen.add(e.id);
    const prev = last.get(e.severity) ?? 0;
    if (e.seq <= prev) problems.push(`${e.severity}: seq ${e.seq} arrived after ${prev}`);
    last.set(e.severity, e.seq);
  }
  return problems;
}

export function duplicatesById(events: WgEvent[]): number {
  return events.length - new Set(events.map((e) => e.id)).size;
}

export function laneIndex(e: WgEvent): number {
  return LANES.indexOf(e.severity);
}
