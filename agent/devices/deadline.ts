// "Call me once monotonic time reaches T, unless something more arrived first" — the only timer a
// device model needs (issue 14). Decisions are made on edge timestamps; this timer only says that
// nothing more has arrived *yet*, so it must not decide before the edges already waiting to be read.
//
// Node's loop runs timers BEFORE the poll phase that reads pipes and sockets: after a stall (a slow
// SD-card commit, GC), a due timer runs while the edges that happened during the stall still sit
// unread in gpiomon's pipe. So the timer only schedules a check with setImmediate (check phase,
// after poll), and the check compares the monotonic clock with T again. Edges already in our pipe
// when the loop wakes are therefore always read first.
//
// Residual risk (documented in the README): an edge that reaches our pipe later than T while the
// loop is idle — the producer itself was late (gpiomon not scheduled, a block-buffered backend) —
// is judged after the decision it should have changed. To narrow that window, a decision is never
// taken within ARRIVAL_GRACE_MS of the arrival of the edge that armed it: an edge read already past
// its deadline (read late) waits that long for the rest of its burst, which gpiomon writes a line at
// a time and a loaded machine can split across reads. An edge read on time is unaffected (its
// deadline lies debounce + hold ahead of its arrival). The owner then sees an edge older than its
// last commit (StableInput reports it via `onLateEdge`) and reports what follows honestly (a
// press then a release with the short `heldMs`), never drops it.
import { uptimeMs } from '../clock.js';

/** How long after the last arrival a late edge's decision waits for the rest of its burst. */
export const ARRIVAL_GRACE_MS = 20;

export class Deadline {
  /** Monotonic ms at which `onDue` should run; undefined while disarmed. */
  private dueAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;
  private checkQueued = false;
  /** Monotonic ms of the last set(): when the edge that armed the deadline was read. */
  private arrivedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly onDue: () => void,
    /** A timestamp further ahead than this (a clock mismatch) is treated as this far ahead. */
    private readonly maxDelayMs: number,
  ) {}

  get armed(): boolean {
    return this.dueAt !== undefined;
  }

  /**
   * Run `onDue` once the monotonic clock reaches `at`. Moving the deadline later while a timer is
   * armed costs nothing: the earlier timer fires, sees it is early, and re-arms (no timer per edge).
   */
  set(at: number): void {
    this.dueAt = at;
    this.arrivedAt = uptimeMs();
    if (this.checkQueued) return;
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.arm(at, uptimeMs());
  }

  clear(): void {
    this.dueAt = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(at: number, now: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    let wait = at - now;
    if (wait > this.maxDelayMs) {
      wait = this.maxDelayMs;
      this.dueAt = now + wait;
    }
    if (wait <= 0) {
      this.queueCheck();
      return;
    }
    this.timerAt = now + wait;
    this.timer = setTimeout(this.onTimer, Math.ceil(wait));
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.queueCheck();
  };

  private queueCheck(): void {
    if (this.checkQueued) return;
    this.checkQueued = true;
    setImmediate(this.check);
  }

  private readonly check = (): void => {
    this.checkQueued = false;
    const at = this.dueAt;
    if (at === undefined) return;
    const now = uptimeMs();
    const due = Math.max(at, this.arrivedAt + ARRIVAL_GRACE_MS);
    if (now < due) {
      this.arm(due, now);
      return;
    }
    this.dueAt = undefined;
    this.onDue();
  };
}
