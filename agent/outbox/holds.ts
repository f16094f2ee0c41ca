// Lanes the broker asked to slow down (a "retry later" refusal: 0x97 quota exceeded, 0x89 server
// busy). The lane waits 0.5 s, doubling while refusals repeat (at most 30 s); a PUBACK in the lane
// resets it. Other lanes go on. The drain reads `any` first, so the clock is read only while a
// lane is held.
import { LANES } from './mirror.js';

const HOLD_MIN_MS = 500;
const HOLD_MAX_MS = 30_000;

export class LaneHolds {
  private readonly until = new Array<number>(LANES).fill(0);
  private readonly streak = new Array<number>(LANES).fill(0);
  private timer: NodeJS.Timeout | undefined;
  /** Some lane is held. */
  any = false;

  /** `ended` runs when a hold ends (the drain refills). */
  constructor(private readonly ended: () => void) {}

  isHeld(lane: number, now: number): boolean {
    return (this.until[lane] as number) > now;
  }

  /** Hold `lane`; returns for how long. */
  hold(lane: number, now = Date.now()): { ms: number; first: boolean } {
    const streak = (this.streak[lane] as number) + 1;
    this.streak[lane] = streak;
    const ms = Math.min(HOLD_MAX_MS, HOLD_MIN_MS * 2 ** Math.min(streak - 1, 16));
    if (now + ms > (this.until[lane] as number)) this.until[lane] = now + ms;
    this.any = true;
    if (!this.timer) this.arm(ms);
    return { ms, first: streak === 1 };
  }

  /** The broker took a row of this lane: the next refusal starts from the shortest hold again. */
  taken(lane: number): void {
    if (this.streak[lane] !== 0) this.streak[lane] = 0;
  }

  clear(): void {
    this.until.fill(0);
    this.streak.fill(0);
    this.any = false;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.expire(), ms);
    this.timer.unref();
  }

  private expire(): void {
    this.timer = undefined;
    const now = Date.now();
    let next = Number.POSITIVE_INFINITY;
    for (let l = 0; l < LANES; l++) {
      const u = this.until[l] as number;
      if (u !== 0 && u <= now) this.until[l] = 0;
      else if (u !== 0) next = Math.min(next, u);
    }
    this.any = next !== Number.POSITIVE_INFINITY;
    if (this.any) this.arm(next - now);
    this.ended();
  }
}
