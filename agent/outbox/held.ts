// Events waiting for their commit: normally one turn of the event loop's worth (group commit), but
// while the disk refuses writes they are held here, in memory, in arrival order. Held events are
// bounded (outbox.maxHeldEvents): past it the oldest `low`, then `normal` events are dropped, with
// a count the outbox announces once writes succeed; `critical` and `high` are never dropped (issue
// 7: an unbounded queue ended in an out-of-memory restart that lost every held alarm).
import { WardgateError } from '../errors.js';
import type { NewEvent, WgEvent } from '../event.js';

export interface Pending {
  ev: NewEvent;
  resolve: (ev: WgEvent) => void;
  reject: (err: Error) => void;
}

/** Dropped held events not yet announced. They never had a seq, so no consumer sees a gap. */
export interface HeldDrops {
  low: number;
  normal: number;
  firstAt: number;
  lastAt: number;
}

export class HeldQueue {
  private items: Pending[] = [];
  /** Index of the first waiting item (consumed items are cut off in bulk, not shifted one by one). */
  private head = 0;
  drops: HeldDrops | undefined;
  droppedTotal = 0;
  /** Size at which to shed next (above `max` while only alarms are held: no rescan per accept). */
  shedAt: number;

  constructor(readonly max: number) {
    this.shedAt = max;
  }

  get size(): number {
    return this.items.length - this.head;
  }

  push(p: Pending): void {
    this.items.push(p);
  }

  at(i: number): Pending {
    return this.items[this.head + i] as Pending;
  }

  /** The first `n` items were committed. */
  consume(n: number): void {
    this.head += n;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  /** Put a gateway event of the outbox's own at the front (disk_low: it is news about the hold). */
  pushFront(p: Pending): void {
    if (this.head > 0) this.items[--this.head] = p;
    else this.items.unshift(p);
  }

  /**
   * Over the bound: drop the oldest `low`, then `normal` events, down to 90% of it (so the next
   * drop is thousands of events away, not on every accept). Returns how many were dropped.
   */
  shed(now: number): number {
    const size = this.size;
    if (size <= this.max) {
      this.shedAt = this.max;
      return 0;
    }
    this.shedAt = size + Math.ceil(this.max * 0.1);
    let excess = size - Math.floor(this.max * 0.9);
    let lows = 0;
    let normals = 0;
    for (let i = this.head; i < this.items.length; i++) {
      const s = (this.items[i] as Pending).ev.severity;
      if (s === 'low') lows++;
      else if (s === 'normal') normals++;
    }
    const dropLow = Math.min(lows, excess);
    excess -= dropLow;
    const dropNormal = Math.min(normals, excess);
    if (dropLow + dropNormal === 0) return 0; // alarms only: kept, whatever the bound says
    let leftLow = dropLow;
    let leftNormal = dropNormal;
    const kept: Pending[] = [];
    const err = new WardgateError(
      'WG_ERR_OUTBOX_HELD_DROPPED',
      `more than ${this.max} events held while the disk refuses writes`,
    );
    for (let i = this.head; i < this.items.length; i++) {
      const p = this.items[i] as Pending;
      const s = p.ev.severity;
      if (s === 'low' && leftLow > 0) {
        leftLow--;
        p.reject(err);
      } else if (s === 'normal' && leftNormal > 0) {
        leftNormal--;
        p.reject(err);
      } else kept.push(p);
    }
    this.items = kept;
    this.head = 0;
    if (this.size <= this.max) this.shedAt = this.max;
    const d = this.drops ?? { low: 0, normal: 0, firstAt: now, lastAt: now };
    d.low += dropLow;
    d.normal += dropNormal;
    d.lastAt = now;
    this.drops = d;
    this.droppedTotal += dropLow + dropNormal;
    return dropLow + dropNormal;
  }

  /** Reject everything still waiting (close while the disk refuses writes). */
  rejectAll(err: Error): void {
    for (let i = this.head; i < this.items.length; i++) (this.items[i] as Pending).reject(err);
    this.items = [];
    this.head = 0;
  }
}
