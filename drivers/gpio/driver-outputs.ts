// The GPIO driver's outputs: each opened at the level last asked for, reopened alone with backoff
// when it cannot be opened, and driven at its safe state before its line is released at stop.
import type { Logger } from 'pino';
import { errorMessage, WardgateError } from '../../agent/errors.js';
import type { DriverHealth } from '../types.js';
import { type GpioBackend, type LineRef, lineKey, type OutputHandle } from './backend.js';
import { Retry, type RetryBackoff } from './retry.js';

export interface OutputSpec {
  ref: LineRef;
  /** Physical level at the first start. */
  initial: 0 | 1;
  /** Physical level written before the line is released (stop, driver restart); default `initial`'s off. */
  safe?: 0 | 1;
}

interface OutputLine {
  spec: OutputSpec;
  key: string;
  handle?: OutputHandle;
  /** The level last asked for: a reopened line (after a fault or a restart) is driven here. */
  wanted: 0 | 1;
  fault?: string;
  retry: Retry;
}

export interface OutputHooks {
  backend(): GpioBackend | undefined;
  fault(key: string, err: unknown): void;
  recovered(key: string): void;
}

/** A safe-state write that hangs must not hold the stop past the supervisor's stop timeout. */
const SAFE_WRITE_TIMEOUT_MS = 2000;

export class OutputLines {
  private readonly lines = new Map<string, OutputLine>();

  constructor(
    specs: OutputSpec[],
    backoff: RetryBackoff,
    private readonly hooks: OutputHooks,
  ) {
    for (const spec of specs) {
      const key = lineKey(spec.ref);
      const line = { spec, key, wanted: spec.initial } as OutputLine;
      line.retry = new Retry(backoff, () => void this.open(line, 'retry'));
      this.lines.set(key, line);
    }
  }

  async openAll(): Promise<void> {
    await Promise.all([...this.lines.values()].map((line) => this.open(line, 'start')));
  }

  private async open(line: OutputLine, why: 'start' | 'retry'): Promise<void> {
    const backend = this.hooks.backend();
    if (!backend) return;
    try {
      const handle = await backend.openOutput(line.spec.ref, line.wanted);
      if (backend !== this.hooks.backend()) return;
      line.handle = handle;
      const wasFaulted = line.fault !== undefined;
      line.fault = undefined;
      line.retry.reset();
      if (wasFaulted) this.hooks.recovered(line.key);
    } catch (err) {
      if (backend !== this.hooks.backend()) return;
      if (line.fault === undefined || why === 'start') this.hooks.fault(line.key, err);
      line.fault = errorMessage(err);
      line.retry.schedule();
    }
  }

  async write(point: string, level: 0 | 1): Promise<void> {
    const line = this.lines.get(point);
    if (!line) throw new WardgateError('WG_ERR_GPIO_LINE', `output ${point} is not configured`);
    line.wanted = level;
    if (!line.handle) {
      const why = this.hooks.backend()
        ? `is not open (${line.fault ?? 'opening'}); it will be driven at ${level} when it opens`
        : 'is not open (GPIO driver stopped)';
      throw new WardgateError('WG_ERR_GPIO_LINE', `output ${point} ${why}`);
    }
    await line.handle.write(level);
  }

  level(point: string): 0 | 1 | undefined {
    return this.lines.get(point)?.handle?.level;
  }

  /** The backend reported an open output's line faulted (its helper died): it is retried there. */
  faulted(key: string, err: unknown): void {
    const line = this.lines.get(key);
    if (line) line.fault = errorMessage(err);
  }

  recovered(key: string): void {
    const line = this.lines.get(key);
    if (line) line.fault = undefined;
  }

  /**
   * Writes each open output's safe level (not recorded as wanted: a restart drives the line again
   * at the level asked for), then forgets the handles. A failed write is logged: the others go on.
   */
  async driveSafe(log: Pick<Logger, 'warn'> | undefined): Promise<void> {
    await Promise.all(
      [...this.lines.values()].map(async (line) => {
        line.retry.reset();
        const handle = line.handle;
        line.handle = undefined;
        if (!handle) return;
        const safe = line.spec.safe ?? 0;
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            handle.write(safe),
            new Promise((_, reject) => {
              timer = setTimeout(
                () => reject(new Error(`timed out after ${SAFE_WRITE_TIMEOUT_MS} ms`)),
                SAFE_WRITE_TIMEOUT_MS,
              );
            }),
          ]);
        } catch (err) {
          log?.warn({ err, line: line.key, safe }, 'output not driven at its safe state before release');
        } finally {
          clearTimeout(timer);
        }
      }),
    );
  }

  health(points: NonNullable<DriverHealth['points']>): { faulted: number; open: number; lastError?: string } {
    let faulted = 0;
    let open = 0;
    let lastError: string | undefined;
    for (const line of this.lines.values()) {
      points[line.key] = line.fault ? { ok: false, detail: line.fault } : { ok: true };
      if (line.fault) {
        faulted++;
        lastError ??= line.fault;
      }
      if (line.handle) open++;
    }
    return { faulted, open, ...(lastError ? { lastError } : {}) };
  }
}
