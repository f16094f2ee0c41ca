// One binary input as a technician wants to see it: debounced level (StableInput), since when,
// how many edges, and chatter. A contact that bounces more than `edgesPerMinute` times in a sliding
// minute is a wiring or relay fault, not a stream of alarms: the owner hears about it once
// (`onChatterStart`), changes are suppressed, and after `quietMs` without an edge the input is
// trusted again (`onChatterEnd`) and its settled level is reported if it differs.
import { uptimeMs } from '../clock.js';
import { type EdgeTime, StableInput } from './stable-input.js';

const MINUTE = 60_000;
/** Bound on remembered edge times, so a line oscillating at kHz costs no memory. */
const MAX_WINDOW = 1000;

export interface InputState {
  /** Debounced level (what events are made of); null before the first reading. */
  active: boolean | null;
  /** Level last seen on the wire. */
  raw: boolean | null;
  /** When the debounced level began (edge time), ISO. */
  since: string | null;
  /** Raw edges since start. */
  edges: number;
  /** Raw edges in the last minute (capped at 1000). */
  edgesLastMinute: number;
  chatter: boolean;
  chatterSince: string | null;
}

export interface ChatterOptions {
  edgesPerMinute: number;
  quietMs: number;
  onChatterStart(edgesLastMinute: number, at: EdgeTime): void;
  onChatterEnd(at: EdgeTime): void;
}

export interface WatchedInputOptions {
  activeMs: number;
  inactiveMs: number;
  onChange(active: boolean, at: EdgeTime): void;
  chatter?: ChatterOptions;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

export class WatchedInput {
  private readonly stable: StableInput;
  private raw: boolean | undefined;
  private rawAt: EdgeTime | undefined;
  private since: number | undefined;
  /** Uptime (monotonic) of recent edges: a wall-clock step at NTP sync must not fake a burst. */
  private window: number[] = [];
  private chatterSince: number | undefined;
  private quietTimer: NodeJS.Timeout | undefined;
  private edges = 0;

  constructor(private readonly opts: WatchedInputOptions) {
    this.stable = new StableInput({
      activeMs: opts.activeMs,
      inactiveMs: opts.inactiveMs,
      onChange: (active, at) => {
        this.since = at.ts;
        opts.onChange(active, at);
      },
    });
  }

  get active(): boolean | undefined {
    return this.stable.active;
  }

  get chattering(): boolean {
    return this.chatterSince !== undefined;
  }

  initial(active: boolean, at: EdgeTime): void {
    this.raw = active;
    this.rawAt = at;
    this.since = at.ts;
    this.stable.initial(active, at);
  }

  feed(active: boolean, at: EdgeTime): void {
    if (active === this.raw) return;
    this.raw = active;
    this.rawAt = at;
    this.edges++;
    this.window.push(at.uptimeMs);
    this.prune(at.uptimeMs);
    const chatter = this.opts.chatter;
    if (!chatter) {
      this.stable.feed(active, at);
      return;
    }
    if (this.chatterSince !== undefined) {
      this.armQuiet(chatter);
      return;
    }
    if (this.window.length > chatter.edgesPerMinute) {
      this.chatterSince = at.ts;
      // Drop whatever change was waiting in debounce: it came from the chatter.
      this.stable.stop();
      this.armQuiet(chatter);
      chatter.onChatterStart(this.window.length, at);
      return;
    }
    this.stable.feed(active, at);
  }

  private prune(nowUptime: number): void {
    while (this.window.length > 0 && ((this.window[0] ?? 0) <= nowUptime - MINUTE || this.window.length > MAX_WINDOW))
      this.window.shift();
  }

  private armQuiet(chatter: ChatterOptions): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.quiet(chatter), chatter.quietMs);
  }

  private quiet(chatter: ChatterOptions): void {
    this.quietTimer = undefined;
    this.chatterSince = undefined;
    const last = this.rawAt;
    if (this.raw === undefined || !last) return;
    // Stamped when the quiet period completed, computed from the last edge: no clock is read.
    chatter.onChatterEnd({ ts: last.ts + chatter.quietMs, uptimeMs: last.uptimeMs + chatter.quietMs });
    const was = this.stable.active;
    this.stable.initial(this.raw, last);
    // The level has been steady for the whole quiet period: that is a real state, report it.
    if (this.raw !== was) {
      this.since = last.ts;
      this.opts.onChange(this.raw, last);
    }
  }

  state(): InputState {
    this.prune(uptimeMs());
    return {
      active: this.stable.active ?? null,
      raw: this.raw ?? null,
      since: iso(this.since),
      edges: this.edges,
      edgesLastMinute: this.window.length,
      chatter: this.chatterSince !== undefined,
      chatterSince: iso(this.chatterSince),
    };
  }

  stop(): void {
    this.stable.stop();
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
  }
}
