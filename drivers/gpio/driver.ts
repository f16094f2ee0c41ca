// The GPIO driver: opens the wired lines on one backend and reports levels, edges and line faults
// as readings. What a level means (pressed, alarm, fault) is the device model's business.

import { uptimeMs } from '../../agent/clock.js';
import { errorMessage, WardgateError } from '../../agent/errors.js';
import type { Driver, DriverContext, DriverHealth } from '../types.js';
import { type GpioBackend, type InputHandle, type LineRef, lineKey, type OutputHandle } from './backend.js';

/** Why a level was read again after a gap in watching the line (see /tmp/gpio-contract.md). */
export type ResyncCause = 'restart' | 'recovered' | 'handover' | 'overflow' | 'periodic';

/**
 * What the GPIO driver reports per line. `initial` is the first level read of a line in this driver's
 * lifetime; `resync` is a level read after any gap in watching it (the model decides whether it is a
 * transition it has not seen). `fault`/`recovered` and `flood`/`flood_cleared` are per line.
 */
export type GpioReadingValue =
  | { kind: 'initial'; level: 0 | 1 }
  | { kind: 'edge'; level: 0 | 1 }
  | { kind: 'resync'; level: 0 | 1; cause: ResyncCause }
  | { kind: 'fault'; error: string; code?: string }
  | { kind: 'recovered' }
  | { kind: 'flood'; edgesPerSec: number }
  | { kind: 'flood_cleared' };

export class GpioDriver implements Driver {
  readonly name = 'gpio';
  private readonly inputs = new Map<string, InputHandle>();
  private readonly outputs = new Map<string, OutputHandle>();
  private readonly faulted = new Map<string, string>();
  /** Level last written per output: a restart after a fault reopens it there, not at `initial`. */
  private readonly written = new Map<string, 0 | 1>();
  private ctx: DriverContext | undefined;
  private edges = 0;
  private state: DriverHealth['state'] = 'stopped';
  private lastError: string | undefined;

  private current: GpioBackend | undefined;

  constructor(
    /** A fresh backend per start, so a restart after a fault reopens every line from scratch. */
    private readonly makeBackend: () => GpioBackend,
    private readonly inputRefs: LineRef[],
    private readonly outputRefs: Array<{ ref: LineRef; initial: 0 | 1 }> = [],
  ) {}

  /** The backend in use (the sim controls drive it); undefined while stopped. */
  get backend(): GpioBackend | undefined {
    return this.current;
  }

  async start(ctx: DriverContext): Promise<void> {
    this.ctx = ctx;
    this.state = 'starting';
    this.faulted.clear();
    const backend = this.makeBackend();
    this.current = backend;
    backend.on('edge', this.onEdge);
    backend.on('fault', this.onFault);
    backend.on('recovered', this.onRecovered);
    // Outputs first: an input already active at start (a held panic button) triggers local
    // actions with its initial reading, and they must find their sounder open.
    for (const { ref, initial } of this.outputRefs) {
      const key = lineKey(ref);
      this.outputs.set(key, await backend.openOutput(ref, this.written.get(key) ?? initial));
    }
    for (const ref of this.inputRefs) {
      const handle = await backend.openInput(ref);
      this.inputs.set(lineKey(ref), handle);
      const level = await handle.read();
      this.emit(ref, { kind: 'initial', level });
    }
    this.state = 'running';
  }

  private emit(ref: LineRef, value: GpioReadingValue, at?: { ts: number; uptimeMs: number }): void {
    if (!this.ctx || this.ctx.signal.aborted) return;
    this.ctx.emit({ point: lineKey(ref), value, ts: at?.ts ?? Date.now(), uptimeMs: at?.uptimeMs ?? uptimeMs() });
  }

  private readonly onEdge = (edge: { ref: LineRef; level: 0 | 1; ts: number; uptimeMs: number }): void => {
    if (!this.inputs.has(lineKey(edge.ref))) return;
    this.edges++;
    this.emit(edge.ref, { kind: 'edge', level: edge.level }, edge);
  };

  private readonly onFault = (ref: LineRef, err: Error): void => {
    this.faulted.set(lineKey(ref), errorMessage(err));
    this.lastError = errorMessage(err);
    this.state = 'degraded';
    this.ctx?.log.error({ err, line: lineKey(ref) }, 'GPIO line faulted');
    this.emit(ref, { kind: 'fault', error: errorMessage(err) });
  };

  private readonly onRecovered = (ref: LineRef): void => {
    this.faulted.delete(lineKey(ref));
    if (this.faulted.size === 0 && this.state === 'degraded') this.state = 'running';
    this.emit(ref, { kind: 'recovered' });
  };

  async write(point: string, value: unknown): Promise<void> {
    const out = this.outputs.get(point);
    if (!out) {
      const why = !this.outputRefs.some((o) => lineKey(o.ref) === point)
        ? 'is not configured'
        : this.current
          ? 'is not open yet'
          : 'is not open (GPIO driver stopped)';
      throw new WardgateError('WG_ERR_GPIO_LINE', `output ${point} ${why}`);
    }
    const level = value ? 1 : 0;
    await out.write(level);
    this.written.set(point, level);
  }

  outputLevel(point: string): 0 | 1 | undefined {
    return this.outputs.get(point)?.level;
  }

  async stop(): Promise<void> {
    const backend = this.current;
    this.current = undefined;
    this.inputs.clear();
    this.outputs.clear();
    this.state = 'stopped';
    if (!backend) return;
    backend.off('edge', this.onEdge);
    backend.off('fault', this.onFault);
    backend.off('recovered', this.onRecovered);
    await backend.close();
  }

  health(): DriverHealth {
    const points: NonNullable<DriverHealth['points']> = {};
    for (const key of this.inputs.keys()) {
      const fault = this.faulted.get(key);
      points[key] = fault ? { ok: false, detail: fault } : { ok: true };
    }
    return {
      state: this.state,
      ...(this.lastError ? { lastError: this.lastError, lastErrorCode: 'WG_ERR_GPIO_LINE' } : {}),
      counters: { edges: this.edges, faultedLines: this.faulted.size, outputs: this.outputs.size },
      points,
    };
  }
}
