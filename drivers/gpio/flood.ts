// Per-line flood guard (issue 7 item 10): a line that chatters (a loose wire, a failing contact, a
// flood of simulated presses) is quarantined on its own — its edges are ignored and its device is
// told — and comes back once it has been quiet. It never restarts the driver nor blinds other lines.

export interface FloodGuardOptions {
  /** Edges per second on one line above which the line is quarantined (default 200). */
  limitPerSec?: number;
  /** How long a quarantined line must stay quiet before it is watched again (default 5000 ms). */
  quietMs?: number;
  /** "Quiet" allows this many edges per quietMs (a person pressing the button again; default 4). */
  quietEdges?: number;
  onFlood(key: string, edgesPerSec: number): void;
  onClear(key: string): void;
}

interface LineWindow {
  /** Start of the current 1 s window, on the edges' own monotonic clock. */
  start: number;
  count: number;
  quarantined: boolean;
  /** Edges seen since the last quiet check (while quarantined). */
  sinceCheck: number;
  timer?: NodeJS.Timeout;
}

export class FloodGuard {
  private readonly lines = new Map<string, LineWindow>();
  private readonly limit: number;
  private readonly quietMs: number;
  private readonly quietEdges: number;

  constructor(private readonly opts: FloodGuardOptions) {
    this.limit = opts.limitPerSec ?? 200;
    this.quietMs = opts.quietMs ?? 5000;
    this.quietEdges = opts.quietEdges ?? 4;
  }

  /**
   * Counts one edge of `key` stamped `atMs` (monotonic). False while the line is quarantined: the
   * caller drops the edge. Windows run on edge timestamps, so a burst read late still counts as a
   * burst, and edges spread over seconds but read in one chunk do not.
   */
  admit(key: string, atMs: number): boolean {
    let w = this.lines.get(key);
    if (!w) {
      w = { start: atMs, count: 0, quarantined: false, sinceCheck: 0 };
      this.lines.set(key, w);
    }
    if (w.quarantined) {
      w.sinceCheck++;
      return false;
    }
    // A timestamp going backwards (a restarted helper, another clock) starts a new window too.
    if (atMs - w.start >= 1000 || atMs < w.start) {
      w.start = atMs;
      w.count = 0;
    }
    w.count++;
    if (w.count <= this.limit) return true;
    w.quarantined = true;
    w.sinceCheck = 0;
    this.opts.onFlood(key, w.count);
    this.schedule(key, w);
    return false;
  }

  quarantined(key: string): boolean {
    return this.lines.get(key)?.quarantined === true;
  }

  /** Lines currently quarantined. */
  get count(): number {
    let n = 0;
    for (const w of this.lines.values()) if (w.quarantined) n++;
    return n;
  }

  /** Forgets every line and cancels every quiet check (the driver stopped). */
  reset(): void {
    for (const w of this.lines.values()) clearTimeout(w.timer);
    this.lines.clear();
  }

  // Checked on a timer, not on the next edge: a line that went silent sends no edge to check on.
  private schedule(key: string, w: LineWindow): void {
    w.timer = setTimeout(() => {
      w.timer = undefined;
      if (w.sinceCheck > this.quietEdges) {
        w.sinceCheck = 0;
        this.schedule(key, w);
        return;
      }
      this.lines.delete(key);
      this.opts.onClear(key);
    }, this.quietMs);
  }
}
