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

/** A level read from the line (not an edge), with the time of the read. */
export interface LevelRead {
  level: 0 | 1;
  ts: number;
  uptimeMs: number;
}

export interface InputHandle {
  readonly ref: LineRef;
  /**
   * The level read when the line was opened, before its first edge: every edge the backend emits
   * for this line after openInput() resolves, or while it was still opening, came after this read.
   */
  readonly opened: LevelRead;
  /** Current physical level (the last one seen where the backend cannot read a watched line). */
  read(): Promise<0 | 1>;
}

/** Why a backend read a line's level again after a gap in watching it. */
export type LevelCause = 'recovered' | 'handover' | 'overflow' | 'periodic';

export interface OutputHandle {
  readonly ref: LineRef;
  write(level: 0 | 1): Promise<void>;
  /** Last level written (outputs are not read back from hardware). */
  readonly level: 0 | 1;
}

export interface GpioBackendEvents {
  edge(edge: Edge): void;
  /**
   * A level read after a gap in watching an input (a helper restarted, a suspected kernel queue
   * overflow, a periodic check). It may equal the last level reported; the model dedupes.
   */
  level(read: LevelRead & { ref: LineRef; cause: LevelCause }): void;
  /** A line stopped being watched (its process died, the chip vanished): inputs are faulted. */
  fault(ref: LineRef, err: Error): void;
  /** A previously faulted line is watched again. */
  recovered(ref: LineRef): void;
}

export interface GpioBackend {
  readonly kind: 'gpiod' | 'onoff' | 'sim';
  /**
   * Start watching an input for both edges; its level is read before the first edge (`opened`).
   * Edges may be emitted before the returned promise resolves; they follow `opened`.
   */
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
