// Exponential backoff with jitter (AWS "equal jitter": half fixed, half random), so a hospital's
// gateways do not reconnect in lockstep after a broker restart.

export interface BackoffOptions {
  minMs: number;
  maxMs: number;
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  constructor(private readonly opts: BackoffOptions) {}

  /** The ceiling of the delay before the `attempt`-th retry (0-based); the delay is in [cap/2, cap]. */
  capFor(attempt: number): number {
    return Math.min(this.opts.maxMs, this.opts.minMs * 2 ** Math.min(attempt, 30));
  }

  next(): number {
    const cap = this.capFor(this.attempt);
    this.attempt++;
    const r = (this.opts.random ?? Math.random)();
    return Math.round(cap / 2 + (cap / 2) * r);
  }

  reset(): void {
    this.attempt = 0;
  }

  /** Go straight to the longest delay (a fight that retrying sooner would only feed). */
  saturate(): void {
    while (this.capFor(this.attempt) < this.opts.maxMs) this.attempt++;
  }

  get attempts(): number {
    return this.attempt;
  }
}

/**
 * The most attempts a sequence of `Backoff.next()` delays can fit in `windowMs` (each delay at its
 * shortest, cap/2, starting from a reset): what a test may allow per window, whatever the jitter.
 */
export function maxAttemptsWithin(opts: BackoffOptions, windowMs: number): number {
  const b = new Backoff(opts);
  if (b.capFor(0) <= 0) throw new RangeError('backoff minMs must be positive');
  let n = 1; // the attempt at the window's start
  let t = 0;
  for (let k = 0; ; k++) {
    t += b.capFor(k) / 2;
    if (t > windowMs) return n;
    n++;
  }
}
