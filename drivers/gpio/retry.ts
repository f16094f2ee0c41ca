// One line's reopen schedule: exponential backoff, capped, reset when the line opens. Each line
// has its own, so a line that keeps failing never delays (or hurries) another.

export interface RetryBackoff {
  min: number;
  max: number;
}

export class Retry {
  private attempt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly backoff: RetryBackoff,
    private readonly run: () => void,
  ) {}

  /** Schedules the next attempt (the previous pending one is replaced); returns its delay. */
  schedule(): number {
    const delayMs = Math.min(this.backoff.max, this.backoff.min * 2 ** this.attempt);
    this.attempt++;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run();
    }, delayMs);
    return delayMs;
  }

  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** The line opened, or the driver stopped: no attempt pending, the next delay is the minimum. */
  reset(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.attempt = 0;
  }
}
