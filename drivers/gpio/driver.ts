// The GPIO driver: opens the wired lines on one backend and reports levels, edges and line faults
// as readings. What a level means (pressed, alarm, fault) is the device model's business.
//
// Every line stands alone: a line that cannot be opened is faulted by itself and reopened with its
// own backoff, a chattering line is quarantined by itself (flood.ts), and start never fails
// because of one line — the other devices keep being watched.

import { uptimeMs } from '../../agent/clock.js';
import { errorMessage } from '../../agent/errors.js';
import type { Driver, DriverContext, DriverHealth } from '../types.js';
import {
  type Edge,
  type GpioBackend,
  type InputHandle,
  type LevelCause,
  type LevelRead,
  type LineRef,
  lineKey,
} from './backend.js';
import { OutputLines, type OutputSpec } from './driver-outputs.js';
import { FloodGuard, type FloodGuardOptions } from './flood.js';
import { Retry, type RetryBackoff } from './retry.js';

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

export type { OutputSpec } from './driver-outputs.js';

export interface GpioDriverOptions {
  flood?: Omit<FloodGuardOptions, 'onFlood' | 'onClear'>;
  /** Backoff for reopening a line that could not be opened (default 1 s doubling to 60 s). */
  reopenBackoffMs?: RetryBackoff;
}

interface InputLine {
  ref: LineRef;
  key: string;
  handle?: InputHandle;
  /** Edges that arrived while the line was opening: they follow its opening read. */
  pending?: Edge[];
  fault?: string;
  retry: Retry;
}

const LINE_CODE = 'WG_ERR_GPIO_LINE';

export class GpioDriver implements Driver {
  readonly name = 'gpio';
  private readonly inputs = new Map<string, InputLine>();
  private readonly outputs: OutputLines;
  /** Lines whose first level was reported: after that, a level read after a gap is a `resync`. */
  private readonly seen = new Set<string>();
  private readonly flood: FloodGuard;
  private ctx: DriverContext | undefined;
  private current: GpioBackend | undefined;
  private edges = 0;
  private droppedEdges = 0;
  private running = false;

  constructor(
    /** A fresh backend per start, so a restart after a fault reopens every line from scratch. */
    private readonly makeBackend: () => GpioBackend,
    inputRefs: LineRef[],
    outputSpecs: OutputSpec[] = [],
    opts: GpioDriverOptions = {},
  ) {
    const backoff = opts.reopenBackoffMs ?? { min: 1000, max: 60_000 };
    for (const ref of inputRefs) {
      const key = lineKey(ref);
      this.inputs.set(key, { ref, key, retry: new Retry(backoff, () => void this.openInput(key, 'retry')) });
    }
    this.outputs = new OutputLines(outputSpecs, backoff, {
      backend: () => this.current,
      fault: (key, err) => this.emitKey(key, { kind: 'fault', error: errorMessage(err), code: LINE_CODE }),
      recovered: (key) => this.emitKey(key, { kind: 'recovered' }),
    });
    this.flood = new FloodGuard({
      ...opts.flood,
      onFlood: (key, edgesPerSec) => {
        this.ctx?.log.warn({ line: key, edgesPerSec }, 'GPIO line is flooding: its edges are ignored until quiet');
        this.emitKey(key, { kind: 'flood', edgesPerSec });
      },
      onClear: (key) => void this.floodCleared(key),
    });
  }

  /** The backend in use (the sim controls drive it); undefined while stopped. */
  get backend(): GpioBackend | undefined {
    return this.current;
  }

  /** Never throws because of a line: each one that fails is faulted alone and retried. */
  async start(ctx: DriverContext): Promise<void> {
    this.ctx = ctx;
    const backend = this.makeBackend();
    this.current = backend;
    backend.on('edge', this.onEdge);
    backend.on('level', this.onLevel);
    backend.on('fault', this.onFault);
    backend.on('recovered', this.onRecovered);
    // Outputs first: an input already active at start (a held panic button) triggers local
    // actions with its initial reading, and they must find their sounder open.
    await this.outputs.openAll();
    await Promise.all([...this.inputs.keys()].map((key) => this.openInput(key, 'start')));
    this.running = true;
  }

  private async openInput(key: string, why: 'start' | 'retry'): Promise<void> {
    const line = this.inputs.get(key);
    const backend = this.current;
    if (!line || !backend) return;
    line.pending = [];
    let handle: InputHandle;
    try {
      handle = await backend.openInput(line.ref);
    } catch (err) {
      line.pending = undefined;
      if (backend !== this.current) return;
      const message = errorMessage(err);
      // One report per fault, not one per failed retry.
      if (line.fault === undefined || why === 'start') {
        this.ctx?.log.error({ err, line: key }, 'GPIO line cannot be opened; retrying with backoff');
        this.emit(line.ref, { kind: 'fault', error: message, code: LINE_CODE });
      }
      line.fault = message;
      line.retry.schedule();
      return;
    }
    if (backend !== this.current) return;
    const wasFaulted = line.fault !== undefined;
    line.handle = handle;
    line.fault = undefined;
    line.retry.reset();
    if (!this.seen.has(key)) {
      this.seen.add(key);
      this.emit(line.ref, { kind: 'initial', level: handle.opened.level }, handle.opened);
    } else {
      // The runtime took every device offline when the driver went down; a reopened line is back.
      if (wasFaulted || why === 'start') this.emit(line.ref, { kind: 'recovered' });
      this.resync(line, handle.opened, why === 'start' ? 'restart' : 'recovered');
    }
    const pending = line.pending ?? [];
    line.pending = undefined;
    for (const edge of pending) this.deliverEdge(line, edge);
  }

  private resync(line: InputLine, read: LevelRead, cause: ResyncCause): void {
    if (this.flood.quarantined(line.key)) return; // the line resyncs when the flood clears
    this.emit(line.ref, { kind: 'resync', level: read.level, cause }, read);
  }

  private emit(ref: LineRef, value: GpioReadingValue, at?: { ts: number; uptimeMs: number }): void {
    this.emitKey(lineKey(ref), value, at);
  }

  private emitKey(point: string, value: GpioReadingValue, at?: { ts: number; uptimeMs: number }): void {
    if (!this.ctx || this.ctx.signal.aborted) return;
    this.ctx.emit({ point, value, ts: at?.ts ?? Date.now(), uptimeMs: at?.uptimeMs ?? uptimeMs() });
  }

  private readonly onEdge = (edge: Edge): void => {
    const line = this.inputs.get(lineKey(edge.ref));
    if (!line) return;
    if (line.pending) line.pending.push(edge);
    else if (line.handle) this.deliverEdge(line, edge);
  };

  private deliverEdge(line: InputLine, edge: Edge): void {
    if (!this.flood.admit(line.key, edge.uptimeMs)) {
      this.droppedEdges++;
      return;
    }
    this.edges++;
    this.emit(line.ref, { kind: 'edge', level: edge.level }, edge);
  }

  private readonly onLevel = (read: LevelRead & { ref: LineRef; cause: LevelCause }): void => {
    const line = this.inputs.get(lineKey(read.ref));
    if (line?.handle && !line.pending) this.resync(line, read, read.cause);
  };

  private readonly onFault = (ref: LineRef, err: Error): void => {
    const key = lineKey(ref);
    const line = this.inputs.get(key);
    this.ctx?.log.error({ err, line: key }, 'GPIO line faulted');
    if (line) line.fault = errorMessage(err);
    else this.outputs.faulted(key, err);
    this.emit(ref, { kind: 'fault', error: errorMessage(err), code: LINE_CODE });
  };

  private readonly onRecovered = (ref: LineRef): void => {
    const key = lineKey(ref);
    const line = this.inputs.get(key);
    if (line) line.fault = undefined;
    else this.outputs.recovered(key);
    this.emit(ref, { kind: 'recovered' });
  };

  private async floodCleared(key: string): Promise<void> {
    const line = this.inputs.get(key);
    this.ctx?.log.info({ line: key }, 'GPIO line is quiet again');
    this.emitKey(key, { kind: 'flood_cleared' });
    if (!line?.handle) return;
    const at = uptimeMs();
    const wall = Date.now();
    let level: 0 | 1;
    try {
      level = await line.handle.read();
    } catch (err) {
      this.ctx?.log.warn({ err, line: key }, 'GPIO line could not be read after its flood');
      return;
    }
    this.resync(line, { level, ts: wall, uptimeMs: at }, 'recovered');
  }

  async write(point: string, value: unknown): Promise<void> {
    await this.outputs.write(point, value ? 1 : 0);
  }

  outputLevel(point: string): 0 | 1 | undefined {
    return this.outputs.level(point);
  }

  /** Drives every output at its safe state, then releases every line. */
  async stop(): Promise<void> {
    const backend = this.current;
    this.running = false;
    this.flood.reset();
    for (const line of this.inputs.values()) {
      line.retry.reset();
      line.handle = undefined;
      line.pending = undefined;
    }
    if (!backend) return;
    await this.outputs.driveSafe(this.ctx?.log);
    this.current = undefined;
    backend.off('edge', this.onEdge);
    backend.off('level', this.onLevel);
    backend.off('fault', this.onFault);
    backend.off('recovered', this.onRecovered);
    await backend.close();
  }

  health(): DriverHealth {
    const points: NonNullable<DriverHealth['points']> = {};
    let faulted = 0;
    for (const line of this.inputs.values()) {
      const detail = line.fault ?? (this.flood.quarantined(line.key) ? 'flooding: edges ignored until quiet' : '');
      points[line.key] = detail ? { ok: false, detail } : { ok: true };
      if (line.fault !== undefined) faulted++;
    }
    const out = this.outputs.health(points);
    faulted += out.faulted;
    const lastError = [...this.inputs.values()].find((l) => l.fault)?.fault ?? out.lastError;
    const state: DriverHealth['state'] = !this.current
      ? 'stopped'
      : !this.running
        ? 'starting'
        : faulted > 0 || this.flood.count > 0
          ? 'degraded'
          : 'running';
    return {
      state,
      ...(lastError ? { lastError, lastErrorCode: LINE_CODE } : {}),
      counters: {
        edges: this.edges,
        droppedEdges: this.droppedEdges,
        faultedLines: faulted,
        floodedLines: this.flood.count,
        outputs: out.open,
      },
      points,
    };
  }
}
