// The supervised helper processes of the `gpiod` backend (gpiod.ts), one per line: gpiomon for an
// input, gpioset for an output. Each is spawned, counted as started after settleMs, restarted with
// backoff when it dies — and counted as recovered for good only once it has stayed up stableMs, so
// a helper that keeps dying after settling is restarted ever more slowly, as one outage. An input's
// level is read (gpioget) before each restart, and again after a suspected kernel queue overflow.
import { EventEmitter } from 'node:events';
import { type Logger, pino } from 'pino';
import { uptimeMs } from '../../agent/clock.js';
import type { GpioBackendEvents, LineRef } from './backend.js';
import {
  DEFAULT_TOOLS,
  describeEnd,
  edgeTimes,
  GPIOMON_FORMAT,
  GpiomonParser,
  lineError,
  type MonitorEvent,
  type Proc,
  type ProcEnd,
  readLevel,
  startProc,
  stopProc,
  type ToolPaths,
} from './gpiod-tools.js';

export type GpioLog = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

/** Node reads a pipe 64 KiB at a time: a chunk near that size means the pipe was full. */
const PIPE_NEARLY_FULL = 60 * 1024;
/** Events the v1 uAPI queues per line request (kfifo of 16) before it drops new ones. */
const KERNEL_QUEUE_DEPTH = 16;
/** An edge read this long after its kernel timestamp was queued while nobody read the queue. */
const LATE_MS = 100;

export interface GpiodOptions {
  /** Paths of the libgpiod tools; tests point these at fakes. */
  tools?: Partial<ToolPaths>;
  restartBackoffMs?: { min: number; max: number };
  /** How long a new gpiomon/gpioset must stay up to count as holding its line (default 100). */
  settleMs?: number;
  /**
   * How long a restarted helper must stay up before its backoff is reset (default 10 s). A helper
   * that dies sooner again is restarted ever more slowly, and its line is reported recovered only
   * once one restart has lasted this long: a dying gpiomon cannot flap its device.
   */
  stableMs?: number;
  /** After a suspected kernel queue overflow, quiet time before the level is re-read (default 1 s). */
  overflowQuietMs?: number;
  log?: GpioLog;
}

export interface Line {
  ref: LineRef;
  chip: string;
  offset: number;
  key: string;
  dir: 'in' | 'out';
  level: 0 | 1;
  phase: 'starting' | 'up' | 'faulted' | 'released';
  proc?: Proc;
  timer?: NodeJS.Timeout;
  attempt: number;
  /** Set while up: fires after stableMs, when the helper counts as recovered for good. */
  stableTimer?: NodeJS.Timeout;
  /** The owner was told this line faulted and has not been told it recovered. */
  reportedFault: boolean;
  /** Helper deaths (after settling) since the helper last stayed up stableMs. */
  deaths: number;
  /** A suspected kernel queue overflow: the level is re-read once the line is quiet. */
  overflowTimer?: NodeJS.Timeout;
  lastOverflowCheck?: number;
  /** Consecutive edges read LATE_MS or more after their kernel timestamp. */
  lateRun: number;
  /** Serialises writes and restarts: each one kills and respawns the helper. */
  chain: Promise<void>;
}

export abstract class GpiodLines {
  protected readonly tools: ToolPaths;
  protected readonly backoff: { min: number; max: number };
  protected readonly settleMs: number;
  protected readonly log: GpioLog;
  protected readonly events = new EventEmitter();
  protected readonly lines = new Map<string, Line>();
  protected readonly procs = new Set<Proc>();
  protected readonly counters = { garbageLines: 0, restarts: 0, lostEdges: 0, overflowChecks: 0 };
  protected readonly stableMs: number;
  protected readonly overflowQuietMs: number;
  protected closed = false;

  constructor(opts: GpiodOptions = {}) {
    this.tools = { ...DEFAULT_TOOLS, ...opts.tools };
    this.backoff = opts.restartBackoffMs ?? { min: 250, max: 30_000 };
    this.settleMs = opts.settleMs ?? 100;
    this.stableMs = opts.stableMs ?? 10_000;
    this.overflowQuietMs = opts.overflowQuietMs ?? 1000;
    this.log = opts.log ?? pino({ enabled: false });
  }

  /** gpioget, stamped with the time of the read (taken just before: the level was this at least then). */
  protected async readNow(line: Line): Promise<{ level: 0 | 1; ts: number; uptimeMs: number }> {
    const at = uptimeMs();
    const ts = Date.now();
    const level = await readLevel(this.tools.gpioget, line.chip, line.offset, this.track);
    return { level, ts, uptimeMs: at };
  }

  /** A method, not an inline test: phase changes across awaits, and TS would narrow it away. */
  protected gone(line: Line): boolean {
    return this.closed || line.phase === 'released';
  }

  protected release(line: Line): void {
    line.phase = 'released';
    clearTimeout(line.timer);
    clearTimeout(line.stableTimer);
    clearTimeout(line.overflowTimer);
    if (this.lines.get(line.key) === line) this.lines.delete(line.key);
  }

  protected readonly track = (p: Proc): void => {
    this.procs.add(p);
    void p.ended.then(() => this.procs.delete(p));
  };

  /** Spawns the line's helper and waits out settleMs; rejects with its stderr if it dies sooner. */
  protected async startHelper(line: Line): Promise<void> {
    if (this.gone(line)) throw lineError(`${line.key}: the gpiod backend is closed`);
    line.phase = 'starting';
    const proc = line.dir === 'in' ? this.spawnMonitor(line) : this.spawnSetter(line);
    line.proc = proc;
    let timer: NodeJS.Timeout | undefined;
    const early = await Promise.race([
      proc.ended,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), this.settleMs);
      }),
    ]);
    clearTimeout(timer);
    if (early || this.gone(line)) {
      if (line.proc === proc) line.proc = undefined;
      // close() kills helpers mid-settle: say it was closed, not that the helper was killed.
      throw lineError(
        this.gone(line) || !early ? `${line.key}: the gpiod backend is closed` : describeEnd(proc.what, early),
      );
    }
    line.phase = 'up';
    void proc.ended.then((end) => this.helperEnded(line, proc, end));
    clearTimeout(line.stableTimer);
    line.stableTimer = setTimeout(() => this.stable(line, proc), this.stableMs);
  }

  /** The helper stayed up stableMs: it has recovered for good (backoff reset, owner told). */
  protected stable(line: Line, proc: Proc): void {
    line.stableTimer = undefined;
    if (this.gone(line) || line.proc !== proc || line.phase !== 'up') return;
    line.attempt = 0;
    line.deaths = 0;
    if (line.reportedFault) this.recovered(line);
  }

  // One gpiomon per line rather than per chip: v1.6 cannot add lines to a running request, so a
  // per-chip monitor would have to restart (leaving every other input on the chip unwatched) each
  // time an input opens, and one bad line would fault its neighbours.
  protected spawnMonitor(line: Line): Proc {
    const args = ['--line-buffered', `--format=${GPIOMON_FORMAT}`, line.chip, String(line.offset)];
    const p = startProc(this.tools.gpiomon, args);
    this.track(p);
    const parser = new GpiomonParser(
      (ev) => this.onMonitorEvent(line, ev),
      (text) => this.garbage(line, text),
    );
    p.child.stdout?.setEncoding('utf8');
    p.child.stdout?.on('data', (chunk: string) => {
      parser.push(chunk);
      // A chunk so big the pipe must have filled: gpiomon was blocked writing (see onMonitorEvent).
      if (chunk.length >= PIPE_NEARLY_FULL) this.suspectOverflow(line);
    });
    return p;
  }

  protected spawnSetter(line: Line): Proc {
    const p = startProc(this.tools.gpioset, ['--mode=signal', line.chip, `${line.offset}=${line.level}`]);
    this.track(p);
    p.child.stdout?.resume();
    return p;
  }

  protected onMonitorEvent(line: Line, ev: MonitorEvent): void {
    if (ev.offset !== line.offset) {
      this.garbage(line, `event for offset ${ev.offset}`);
      return;
    }
    if (this.gone(line)) return;
    if (ev.level === line.level) {
      // Both-edge events alternate; a repeat means the opposite edge was lost (in the gpioget →
      // gpiomon hand-over, or dropped by a full kernel queue) — or the contact bounced faster than
      // the kernel read it. The level itself is right: it was read by the kernel at this edge.
      this.counters.lostEdges++;
      this.log.debug(
        { line: line.key, level: ev.level, lostEdges: this.counters.lostEdges },
        'GPIO edge repeats the level',
      );
    }
    line.level = ev.level;
    const at = edgeTimes(ev.sec, ev.nsec);
    // The kernel queues at most 16 events per line and drops newer ones when full — the last edge
    // included. A run of a full queue's worth of edges all read late means the queue was read
    // late (gpiomon starved or blocked on a full pipe) and may have overflowed: re-read when quiet.
    if (uptimeMs() - at.uptimeMs >= LATE_MS) {
      if (++line.lateRun >= KERNEL_QUEUE_DEPTH) this.suspectOverflow(line);
    } else line.lateRun = 0;
    if (line.overflowTimer) this.suspectOverflow(line); // still busy: wait for quiet again
    this.emit('edge', { ref: line.ref, level: ev.level, ...at });
  }

  /** Schedules one level re-read (a monitor restart) once the line has been quiet overflowQuietMs. */
  protected suspectOverflow(line: Line): void {
    if (this.gone(line) || line.dir !== 'in') return;
    clearTimeout(line.overflowTimer);
    line.overflowTimer = setTimeout(() => {
      line.overflowTimer = undefined;
      line.chain = line.chain.then(() => this.overflowCheck(line));
    }, this.overflowQuietMs);
  }

  /** Kill gpiomon, gpioget, new gpiomon: a blind gap of milliseconds, so at most once per stableMs. */
  protected async overflowCheck(line: Line): Promise<void> {
    const now = uptimeMs();
    if (this.gone(line) || line.phase !== 'up') return;
    if (line.lastOverflowCheck !== undefined && now - line.lastOverflowCheck < this.stableMs) return;
    line.lastOverflowCheck = now;
    this.counters.overflowChecks++;
    const old = line.proc;
    line.proc = undefined;
    line.phase = 'faulted'; // not reported: the line is unwatched for the few ms of the swap
    if (old) await stopProc(old, this.log);
    await this.restart(line, 'overflow');
  }

  protected garbage(line: Line, text: string): void {
    this.counters.garbageLines += 1;
    this.log.warn({ line: line.key, text, garbageLines: this.counters.garbageLines }, 'unparseable gpiomon output');
  }

  protected helperEnded(line: Line, proc: Proc, end: ProcEnd): void {
    if (this.closed || line.proc !== proc || line.phase !== 'up') return; // we stopped it ourselves
    line.proc = undefined;
    line.phase = 'faulted';
    line.deaths++;
    clearTimeout(line.stableTimer);
    const what = line.dir === 'in' ? 'watched' : 'driven';
    const err = lineError(`${describeEnd(proc.what, end)}; ${line.key} is no longer ${what}`);
    this.log.warn({ err, line: line.key }, 'GPIO helper process ended');
    this.fault(line, err);
    this.scheduleRestart(line);
  }

  /** One fault report until the line has recovered for good: a flapping helper is one outage. */
  protected fault(line: Line, err: Error): void {
    if (line.reportedFault) return;
    line.reportedFault = true;
    this.emit('fault', line.ref, err);
  }

  protected scheduleRestart(line: Line): void {
    const delayMs = Math.min(this.backoff.max, this.backoff.min * 2 ** line.attempt);
    line.attempt += 1;
    this.log.info({ line: line.key, delayMs, attempt: line.attempt }, 'restarting GPIO helper');
    clearTimeout(line.timer);
    line.timer = setTimeout(() => {
      line.timer = undefined;
      // Queued behind writes, so a restart and a write never spawn two gpiosets for one line.
      line.chain = line.chain.then(() => this.restart(line));
    }, delayMs);
  }

  /** Never rejects: a failure schedules the next attempt. */
  protected async restart(line: Line, cause: 'recovered' | 'overflow' = 'recovered'): Promise<void> {
    if (this.closed || line.phase !== 'faulted') return; // closed, or a write re-asserted the line
    this.counters.restarts += 1;
    try {
      if (line.dir === 'in') {
        const read = await this.readNow(line);
        if (this.gone(line)) return;
        line.level = read.level;
        // Whatever happened while nothing watched the line, this is its level now: the model
        // reports a transition it has not seen (a release while blind), never a duplicate.
        this.emit('level', { ref: line.ref, ...read, cause });
      }
      await this.startHelper(line);
    } catch (err) {
      if (this.gone(line)) return;
      line.phase = 'faulted';
      this.log.warn({ err, line: line.key }, 'GPIO helper restart failed');
      this.fault(line, err instanceof Error ? err : lineError(String(err)));
      this.scheduleRestart(line);
      return;
    }
    // After one death, watched again counts as recovered at once (failed starts do not count); a
    // helper that died again before lasting stableMs must first last that long (see stable()).
    if (line.reportedFault && line.deaths <= 1) this.recovered(line);
  }

  protected recovered(line: Line): void {
    line.reportedFault = false;
    this.log.info({ line: line.key }, 'GPIO line recovered');
    this.emit('recovered', line.ref);
  }

  /** Listeners are other units' code: one that throws must not take the monitor's pipe down. */
  protected emit<K extends keyof GpioBackendEvents>(event: K, ...args: Parameters<GpioBackendEvents[K]>): void {
    try {
      this.events.emit(event, ...args);
    } catch (err) {
      this.log.error({ err, event }, 'a GPIO event listener threw');
    }
  }
}
