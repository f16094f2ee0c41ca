// The `sim` GPIO backend: lines are plain memory, set by the demo, the tests and the web page's
// simulation controls. It honours the same contract as the hardware backends.
import { EventEmitter } from 'node:events';
import { uptimeMs } from '../../agent/clock.js';
import { WardgateError } from '../../agent/errors.js';
import {
  type GpioBackend,
  type GpioBackendEvents,
  type InputHandle,
  type LineRef,
  lineKey,
  type OutputHandle,
} from './backend.js';

export class SimGpioBackend implements GpioBackend {
  readonly kind = 'sim' as const;
  private readonly levels = new Map<string, 0 | 1>();
  private readonly inputs = new Set<string>();
  private readonly outputs = new Set<string>();
  private readonly events = new EventEmitter();
  /** Lines that refuse to open, with the error message (a busy line, a missing expander). */
  private readonly failing = new Map<string, string>();
  private closed = false;

  constructor(private readonly initialLevel: 0 | 1 = 1) {}

  /** Make a line refuse to open (or open again, with `undefined`), like a busy or missing line. */
  failOpen(ref: LineRef, message: string | undefined): void {
    if (message === undefined) this.failing.delete(lineKey(ref));
    else this.failing.set(lineKey(ref), message);
  }

  async openInput(ref: LineRef): Promise<InputHandle> {
    const key = lineKey(ref);
    if (this.inputs.has(key) || this.outputs.has(key))
      throw new WardgateError('WG_ERR_GPIO_LINE', `line ${key} is already in use`);
    if (this.failing.has(key)) throw new WardgateError('WG_ERR_GPIO_LINE', this.failing.get(key));
    this.inputs.add(key);
    if (!this.levels.has(key)) this.levels.set(key, this.initialLevel);
    const opened = { level: this.levels.get(key) ?? this.initialLevel, ts: Date.now(), uptimeMs: uptimeMs() };
    return { ref, opened, read: async () => this.levels.get(key) ?? this.initialLevel };
  }

  async openOutput(ref: LineRef, initial: 0 | 1): Promise<OutputHandle> {
    const key = lineKey(ref);
    if (this.inputs.has(key) || this.outputs.has(key))
      throw new WardgateError('WG_ERR_GPIO_LINE', `line ${key} is already in use`);
    if (this.failing.has(key)) throw new WardgateError('WG_ERR_GPIO_LINE', this.failing.get(key));
    this.outputs.add(key);
    this.levels.set(key, initial);
    const levels = this.levels;
    return {
      ref,
      get level() {
        return levels.get(key) ?? initial;
      },
      write: async (level) => {
        levels.set(key, level);
      },
    };
  }

  /** Drive an input line as the outside world would. Emits an edge only on a change. */
  set(
    ref: LineRef,
    level: 0 | 1,
    at: { ts: number; uptimeMs: number } = { ts: Date.now(), uptimeMs: uptimeMs() },
  ): void {
    if (this.closed) return;
    const key = lineKey(ref);
    if (!this.inputs.has(key)) throw new Error(`line ${key} is not an input`);
    if (this.levels.get(key) === level) return;
    this.levels.set(key, level);
    this.events.emit('edge', { ref, level, ts: at.ts, uptimeMs: at.uptimeMs });
  }

  level(ref: LineRef): 0 | 1 | undefined {
    return this.levels.get(lineKey(ref));
  }

  /** Simulate a backend fault on a line (a dead helper process, a vanished chip). */
  fault(ref: LineRef, err: Error): void {
    this.events.emit('fault', ref, err);
  }

  on<K extends keyof GpioBackendEvents>(event: K, listener: GpioBackendEvents[K]): void {
    this.events.on(event, listener);
  }

  off<K extends keyof GpioBackendEvents>(event: K, listener: GpioBackendEvents[K]): void {
    this.events.off(event, listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.inputs.clear();
    this.outputs.clear();
    this.events.removeAllListeners();
  }
}
