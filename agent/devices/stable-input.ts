// Debounce and minimum hold for one binary input: a level must stay put for `activeMs` (to become
// active) or `inactiveMs` (to become inactive) before it counts. Chatter never produces events; the
// confirmed change is stamped with the time of the edge that began the stable period.

export interface EdgeTime {
  ts: number;
  uptimeMs: number;
}

export interface StableInputOptions {
  activeMs: number;
  inactiveMs: number;
  onChange: (active: boolean, at: EdgeTime) => void;
}

export class StableInput {
  private confirmed: boolean | undefined;
  private raw: boolean | undefined;
  private rawSince: EdgeTime | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Edges seen, for chatter detection by the owner. */
  edges = 0;

  constructor(private readonly opts: StableInputOptions) {}

  get active(): boolean | undefined {
    return this.confirmed;
  }

  get rawActive(): boolean | undefined {
    return this.raw;
  }

  /** The level read at start: taken as confirmed at once (and reported by the owner if active). */
  initial(active: boolean, at: EdgeTime): void {
    this.raw = active;
    this.rawSince = at;
    this.confirmed = active;
  }

  feed(active: boolean, at: EdgeTime): void {
    if (active === this.raw) return;
    this.edges++;
    this.raw = active;
    this.rawSince = at;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (active === this.confirmed) return;
    const wait = active ? this.opts.activeMs : this.opts.inactiveMs;
    if (wait <= 0) this.commit();
    else this.timer = setTimeout(() => this.commit(), wait);
  }

  private commit(): void {
    this.timer = undefined;
    if (this.raw === undefined || this.raw === this.confirmed || !this.rawSince) return;
    this.confirmed = this.raw;
    this.opts.onChange(this.raw, this.rawSince);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
