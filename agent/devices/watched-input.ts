// One binary input as a technician wants to see it: debounced level (StableInput), since when, how
// many raw edges, and chatter.
//
// Chatter (issue 14): a contact whose *debounced* level changes more than `changesPerMinute` times
// in a sliding minute is a wiring or relay fault, not a stream of alarms. Normal relay bounce never
// counts (it does not survive the debounce; a line toggling faster than any debounce is the GPIO
// driver's flood guard's business). The owner hears about it once (`onChatterStart`); from then
// on a level must stay put for `holdMs` before it is reported, flagged `suspectedChatter` — so a
// genuine alarm on a chattering contact is delayed by at most the debounce plus `holdMs` (the
// stated bound), never suppressed until the quiet period ends. After `quietMs` without a debounced
// change the input is trusted again (`onChatterEnd`) and its change window is cleared.
// Every decision is made on edge timestamps, so a late read gives the same answer as a prompt one.
import { uptimeMs } from '../clock.js';
import { Deadline } from './deadline.js';
import { type EdgeTime, StableInput } from './stable-input.js';

const MINUTE = 60_000;
/** Bound on remembered change times, so a line oscillating for hours costs no memory. */
const MAX_WINDOW = 1000;

export interface InputState {
  /** Debounced level; null before the first reading. */
  active: boolean | null;
  /** Level last seen on the wire. */
  raw: boolean | null;
  /** When the debounced level began (edge time), ISO. */
  since: string | null;
  /** Raw edges since start. */
  edges: number;
  /** Debounced changes in the last minute (what chatter is judged on; capped at 1000). */
  changesLastMinute: number;
  chatter: boolean;
  chatterSince: string | null;
}

export interface ChangeFlags {
  /** First seen in a level read after a gap in watching (driver restart, recovered line). */
  observedAfterGap?: true;
  /** Reported while the input is chattering (held for the chatter hold time). */
  suspectedChatter?: true;
}

export interface ChatterOptions {
  changesPerMinute: number;
  quietMs: number;
  /** While chattering, a level must hold this long to be reported (capped at `quietMs`). */
  holdMs: number;
  onChatterStart(changesLastMinute: number, at: EdgeTime): void;
  onChatterEnd(at: EdgeTime): void;
}

export interface WatchedInputOptions {
  activeMs: number;
  inactiveMs: number;
  onChange(active: boolean, at: EdgeTime, flags: ChangeFlags): void;
  chatter?: ChatterOptions;
  onLateEdge?(lateByMs: number): void;
}

const NONE: ChangeFlags = Object.freeze({});
const GAP: ChangeFlags = Object.freeze({ observedAfterGap: true });
const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

export class WatchedInput {
  private readonly stable: StableInput;
  private raw: boolean | undefined;
  private since: number | undefined;
  private edges = 0;
  /** Monotonic stamps of recent debounced changes: a wall-clock step must not fake a burst. */
  private window: number[] = [];
  private chatterSince: EdgeTime | undefined;
  private lastChange: EdgeTime | undefined;
  /** While chattering: reports a level once it held `holdMs` (a second debouncer, on changes). */
  private readonly hold: StableInput | undefined;
  private readonly quiet: Deadline | undefined;
  private readonly lagMs: number;

  constructor(private readonly opts: WatchedInputOptions) {
    this.lagMs = Math.max(opts.activeMs, opts.inactiveMs);
    this.stable = new StableInput({
      activeMs: opts.activeMs,
      inactiveMs: opts.inactiveMs,
      onChange: (active, at, gap) => this.changed(active, at, gap),
      ...(opts.onLateEdge ? { onLateEdge: opts.onLateEdge } : {}),
    });
    const chatter = opts.chatter;
    if (chatter) {
      const holdMs = Math.min(chatter.holdMs, chatter.quietMs);
      this.hold = new StableInput({
        activeMs: holdMs,
        inactiveMs: holdMs,
        onChange: (active, at, gap) =>
          opts.onChange(
            active,
            at,
            gap ? { suspectedChatter: true, observedAfterGap: true } : { suspectedChatter: true },
          ),
        upstream: { lagMs: this.lagMs, flush: () => this.flush() },
      });
      this.quiet = new Deadline(() => this.quietDue(chatter), chatter.quietMs + this.lagMs + 1000);
    }
  }

  get active(): boolean | undefined {
    return this.stable.active;
  }

  get rawActive(): boolean | undefined {
    return this.raw;
  }

  /** A change is waiting in debounce, or (chattering) in the hold. */
  get pending(): boolean {
    return this.stable.pending || this.hold?.pending === true;
  }

  get chattering(): boolean {
    return this.chatterSince !== undefined;
  }

  /** The first level read: confirmed at once (the owner reports it if it is news). */
  initial(active: boolean, at: EdgeTime): void {
    if (this.stable.active !== undefined) {
      this.resync(active, at);
      return;
    }
    this.raw = active;
    this.since = at.ts;
    this.stable.initial(active, at);
  }

  /** A level read after a gap in watching: the owner hears only of a transition it has not seen. */
  resync(active: boolean, at: EdgeTime): void {
    if (this.stable.active === undefined) {
      this.initial(active, at);
      return;
    }
    this.raw = active;
    this.stable.resync(active, at);
  }

  /** The line is flooding: its edges are being dropped, so a change waiting in debounce is noise. */
  discardPending(): void {
    this.stable.discardPending();
    this.raw = this.stable.active;
  }

  feed(active: boolean, at: EdgeTime): void {
    if (active !== this.raw) this.edges++;
    this.raw = active;
    this.stable.feed(active, at);
  }

  /** Commit a debounced change that is due by now, before judging a hold or a quiet period. */
  private flush(): void {
    this.stable.settle(uptimeMs());
  }

  private changed(active: boolean, at: EdgeTime, gap: boolean): void {
    this.since = at.ts;
    const chatter = this.opts.chatter;
    const last = this.lastChange;
    if (chatter && this.chatterSince !== undefined && last) {
      // Decided on stamps: did the held level last, and did the quiet period pass, before this change?
      this.hold?.settle(at.uptimeMs);
      if (at.uptimeMs - last.uptimeMs >= chatter.quietMs) this.endChatter(chatter, last);
    }
    this.lastChange = at;
    this.window.push(at.uptimeMs);
    this.prune(at.uptimeMs);
    if (!chatter || !this.hold) {
      this.opts.onChange(active, at, gap ? GAP : NONE);
      return;
    }
    if (this.chatterSince === undefined && this.window.length > chatter.changesPerMinute) {
      this.chatterSince = at;
      // The hold starts from what the owner was last told.
      this.hold.initial(!active, at);
      chatter.onChatterStart(this.window.length, at);
    }
    if (this.chatterSince === undefined) {
      this.opts.onChange(active, at, gap ? GAP : NONE);
      return;
    }
    this.hold.feed(active, at, gap);
    this.quiet?.set(at.uptimeMs + chatter.quietMs + this.lagMs);
  }

  private quietDue(chatter: ChatterOptions): void {
    this.flush();
    const last = this.lastChange;
    if (this.chatterSince === undefined || !last) return;
    if (uptimeMs() - last.uptimeMs >= chatter.quietMs + this.lagMs) this.endChatter(chatter, last);
    else if (!this.quiet?.armed) this.quiet?.set(last.uptimeMs + chatter.quietMs + this.lagMs);
  }

  private endChatter(chatter: ChatterOptions, last: EdgeTime): void {
    // A level that held for the quiet period held for the (shorter) chatter hold: report it first.
    this.hold?.settle(last.uptimeMs + chatter.quietMs);
    this.hold?.stop();
    this.quiet?.clear();
    this.chatterSince = undefined;
    this.window = [];
    // Stamped when the quiet period completed, computed from the last change: no clock is read.
    chatter.onChatterEnd({ ts: last.ts + chatter.quietMs, uptimeMs: last.uptimeMs + chatter.quietMs });
  }

  private prune(nowUptime: number): void {
    const w = this.window;
    let drop = 0;
    while (drop < w.length && ((w[drop] ?? 0) <= nowUptime - MINUTE || w.length - drop > MAX_WINDOW)) drop++;
    if (drop > 0) w.splice(0, drop);
  }

  state(): InputState {
    this.prune(uptimeMs());
    return {
      active: this.stable.active ?? null,
      raw: this.raw ?? null,
      since: iso(this.since),
      edges: this.edges,
      changesLastMinute: this.window.length,
      chatter: this.chatterSince !== undefined,
      chatterSince: iso(this.chatterSince?.ts),
    };
  }

  stop(): void {
    this.stable.stop();
    this.hold?.stop();
    this.quiet?.clear();
  }
}
