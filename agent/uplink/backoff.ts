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

  next(): number {
    const cap = Math.min(this.opts.maxMs, this.opts.minMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const r = (this.opts.random ?? Math.random)();
    return Math.round(cap / 2 + (cap / 2) * r);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
