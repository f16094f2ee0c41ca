// Debounce and minimum hold for one binary input, decided on edge timestamps (issue 14): a level
// counts once it has stayed put for `activeMs` (to become active) or `inactiveMs` (to become
// inactive), measured in monotonic time from the edge that began it to the edge that ended it —
// never from when Node happened to read them. A press and its release read in one late chunk
// therefore give the press (if it was held long enough) and the release; a 5 ms glitch read after
// an 80 ms stall gives nothing. A timer (Deadline) only covers "nothing more has arrived yet".
//
// The confirmed change is stamped with the edge that began the stable period. A level read after
// a gap in watching (`resync`) that differs from what the model knows is debounced like an edge
// and reported with `gap: true` (the transition happened while nothing watched).
import { uptimeMs } from '../clock.js';
import { Deadline } from './deadline.js';

export interface EdgeTime {
  /** Wall-clock ms (for display and the event's `ts`; never for durations). */
  ts: number;
  /** Monotonic ms (CLOCK_MONOTONIC, the kernel's edge time where the backend gives it). */
  uptimeMs: number;
}

export interface StableInputOptions {
  activeMs: number;
  inactiveMs: number;
  /** A debounced change. `gap`: first seen in a level read after a gap in watching. */
  onChange: (active: boolean, at: EdgeTime, gap: boolean) => void;
  /**
   * An edge arrived that began less than the hold before the last committed change: that change was
   * decided before this edge could be read (see deadline.ts, residual risk). Reported, not undone.
   */
  onLateEdge?: (lateByMs: number) => void;
  /**
   * Changes reach this input from another debouncer, up to `lagMs` after their stamp: its deadline
   * waits that much longer and `flush()`es the source first, so a change stamped inside the hold
   * is always seen before the hold is judged (the same answer however late the edges were read).
   */
  upstream?: { lagMs: number; flush(): void };
}

/** Kernel timestamps this far ahead of our clock are a clock mismatch, not a reason to wait. */
const MAX_AHEAD_MS = 1000;

export class StableInput {
  private confirmed: boolean | undefined;
  private confirmedAt: EdgeTime | undefined;
  private raw: boolean | undefined;
  private rawAt: EdgeTime | undefined;
  private rawGap = false;
  private readonly deadline: Deadline;
  private readonly lag: number;

  constructor(private readonly opts: StableInputOptions) {
    const lag = opts.upstream?.lagMs ?? 0;
    this.lag = lag;
    this.deadline = new Deadline(() => this.due(), Math.max(opts.activeMs, opts.inactiveMs) + lag + MAX_AHEAD_MS);
  }

  get active(): boolean | undefined {
    return this.confirmed;
  }

  get rawActive(): boolean | undefined {
    return this.raw;
  }

  /** A change is waiting in debounce/hold. */
  get pending(): boolean {
    return this.raw !== undefined && this.raw !== this.confirmed;
  }

  private waitFor(active: boolean): number {
    return active ? this.opts.activeMs : this.opts.inactiveMs;
  }

  /** The first level read: taken as confirmed at once (the owner reports it if it is news). */
  initial(active: boolean, at: EdgeTime): void {
    this.deadline.clear();
    this.raw = active;
    this.rawAt = at;
    this.rawGap = false;
    this.confirmed = active;
    // Not a decision: no later edge can prove it premature.
    this.confirmedAt = undefined;
  }

  /**
   * A level read after a gap in watching. Equal to what is known: nothing (never a duplicate).
   * Different: the transition happened unseen; debounce it from the read like an edge.
   */
  resync(active: boolean, at: EdgeTime): void {
    if (this.confirmed === undefined) {
      this.initial(active, at);
      return;
    }
    this.settle(at.uptimeMs);
    // The pending change (if any) is what the line still shows: keep its own, earlier, start.
    if (active === this.raw) return;
    this.change(active, at, true);
  }

  feed(active: boolean, at: EdgeTime, gap = false): void {
    if (this.confirmed === undefined) {
      this.initial(active, at);
      return;
    }
    // Did the pending level hold until this edge? Decided on the two edges' timestamps.
    this.settle(at.uptimeMs);
    if (active === this.raw) {
      // The same level twice: the kernel saw a bounce we were not shown. Restart a pending hold.
      if (this.pending) this.rawAt = at;
      return;
    }
    const c = this.confirmedAt;
    if (active !== this.confirmed && c && this.opts.onLateEdge) {
      const early = c.uptimeMs + this.waitFor(this.confirmed) - at.uptimeMs;
      if (early > 0 && this.rawAt === c) this.opts.onLateEdge(early);
    }
    this.change(active, at, gap);
  }

  private change(active: boolean, at: EdgeTime, gap: boolean): void {
    this.raw = active;
    this.rawAt = at;
    this.rawGap = gap;
    // Back to the confirmed level: nothing pending. The deadline stays armed (a bounce would
    // otherwise cost a clearTimeout and a setTimeout per edge); when it fires it finds nothing.
    if (active === this.confirmed) return;
    const wait = this.waitFor(active);
    if (wait <= 0 && this.lag === 0) this.commit();
    else this.deadline.set(at.uptimeMs + wait + this.lag);
  }

  private due(): void {
    this.opts.upstream?.flush();
    const now = uptimeMs();
    this.settle(now - this.lag);
    if (!this.pending || !this.rawAt || this.deadline.armed) return;
    // Still pending after the deadline: the stamp is ahead of our clock. Slightly (rounding): look
    // again. Far (a backend on another clock): the level has held for the hold and MAX_AHEAD_MS
    // since it was read, which is all we can know — an alarm is never held back for ever.
    if (this.rawAt.uptimeMs - now > MAX_AHEAD_MS) this.commit();
    else this.deadline.set(this.rawAt.uptimeMs + this.waitFor(this.raw as boolean) + this.lag);
  }

  /**
   * The edges since the confirmed level were noise (the driver declared the line flooding and drops
   * its edges): forget the pending change, or its silence would look like a level that held. The
   * driver's resync after the flood says what the line really shows.
   */
  discardPending(): void {
    if (!this.pending) return;
    this.raw = this.confirmed;
    this.rawGap = false;
    this.deadline.clear();
  }

  /** Commit the pending level if it has held until monotonic `until`. */
  settle(until: number): void {
    if (!this.pending || !this.rawAt) return;
    if (until - this.rawAt.uptimeMs < this.waitFor(this.raw as boolean)) return;
    this.commit();
  }

  private commit(): void {
    this.deadline.clear();
    const at = this.rawAt;
    if (this.raw === undefined || this.raw === this.confirmed || !at) return;
    this.confirmed = this.raw;
    this.confirmedAt = at;
    this.opts.onChange(this.raw, at, this.rawGap);
  }

  stop(): void {
    this.deadline.clear();
  }
}
