// One interface for every GPIO backend (gpiod character device, onoff sysfs, sim), so one
// contract suite proves them all (test/contract/gpio-backend.test.ts).

/** A line addressed by chip + offset, or by the line's name (`gpiod` resolves names). */
export interface LineRef {
  chip: string; // e.g. "gpiochip0"
  line: number | string;
}

export interface Edge {
  ref: LineRef;
  /** Physical level after the edge: 1 high, 0 low (active-low is applied by the device model). */
  level: 0 | 1;
  /** Wall-clock ms of the edge (kernel timestamp where available). */
  ts: number;
  /** Monotonic ms since boot of the edge. */
  uptimeMs: number;
}

export interface InputHandle {
  readonly ref: LineRef;
  /** Current physical level. */
  read(): Promise<0 | 1>;
}

export interface OutputHandle {
  readonly ref: LineRef;
  write(level: 0 | 1): Promise<void>;
  /** Last level written (outputs are not read back from hardware). */
  readonly level: 0 | 1;
}

export interface GpioBackendEvents {
  edge(edge: Edge): void;
  /** A line stopped being watched (its process died, the chip vanished): inputs are faulted. */
  fault(ref: LineRef, err: Error): void;
  /** A previously faulted line is watched again. */
  recovered(ref: LineRef): void;
}

export interface GpioBackend {
  readonly kind: 'gpiod' | 'onoff' | 'sim';
  /** Start watching inputs for both edges; the initial level is read before the first edge. */
  openInput(ref: LineRef): Promise<InputHandle>;
  openOutput(ref: LineRef, initial: 0 | 1): Promise<OutputHandle>;
  on<K extends keyof GpioBackendEvents>(event: K, listener: GpioBackendEvents[K]): void;
  off<K extends keyof GpioBackendEvents>(event: K, listener: GpioBackendEvents[K]): void;
  /** Releases every line and kills every helper process. */
  close(): Promise<void>;
}

export function lineKey(ref: LineRef): string {
  return `${ref.chip}:${ref.line}`;
}
