// The `gpiod` GPIO backend: the Linux GPIO character device through libgpiod v1.6's tools
// (Debian 12 ships 1.6.3 as a package; a Node binding would need a native build on the box). Every
// helper process is supervised: when one dies its line is faulted and restarted with backoff.
//
// Quirks of the v1.6 tools and the v1 uAPI this works around:
// - A line can be requested by one process at a time, so gpioget cannot read a line gpiomon is
//   watching (EBUSY): inputs report the level last seen (opening read + edges), and the level is
//   re-read only while the monitor is down — after a restart, and after a suspected kernel queue
//   overflow (the monitor is restarted for it, once the line is quiet). An edge between gpioget's
//   read and gpiomon's request (a few ms) is lost: no v1.6 tool can read a watched line, so there
//   is no read "once gpiomon is running". An edge that repeats the level is counted (lostEdges).
// - gpiomon block-buffers stdout on a pipe: without --line-buffered, edges arrive kilobytes late.
// - The tools print nothing once they hold a line, so "started" means "still running after settleMs".
// - gpioset releases the line when it exits (the line reverts to its default), so each output keeps
//   one `gpioset --mode=signal` alive, and a write replaces it: kill, wait for exit, spawn with the
//   new level. The line is undriven for those few milliseconds (libgpiod v2's `gpioset --interactive`
//   removes the gap); a write of the level already held spawns nothing.
import {
  type GpioBackend,
  type GpioBackendEvents,
  type InputHandle,
  type LineRef,
  lineKey,
  type OutputHandle,
} from './backend.js';
import { GpiodLines, type Line } from './gpiod-lines.js';
import { lineError, resolveLine, stopProc, toolsVersion } from './gpiod-tools.js';

export type { GpiodOptions, GpioLog } from './gpiod-lines.js';

export class GpiodBackend extends GpiodLines implements GpioBackend {
  readonly kind = 'gpiod' as const;
  private version: Promise<void> | undefined;

  /** Counters for health(): unparseable gpiomon lines, helper restarts, edges known lost. */
  stats(): { garbageLines: number; restarts: number; lostEdges: number; overflowChecks: number } {
    return { ...this.counters };
  }

  async openInput(ref: LineRef): Promise<InputHandle> {
    await this.checkVersion();
    const line = await this.reserve(ref, 'in');
    let opened: { level: 0 | 1; ts: number; uptimeMs: number };
    try {
      opened = await this.readNow(line);
      line.level = opened.level;
      // Edges gpiomon reports while it settles are emitted at once: they follow `opened`.
      await this.startHelper(line);
    } catch (err) {
      this.release(line);
      throw err;
    }
    return { ref, opened, read: async () => line.level };
  }

  /** The v2 tools take other options (no --line-buffered, no --mode): refuse them by name. */
  private checkVersion(): Promise<void> {
    this.version ??= toolsVersion(this.tools.gpiomon, this.track);
    return this.version;
  }

  async openOutput(ref: LineRef, initial: 0 | 1): Promise<OutputHandle> {
    await this.checkVersion();
    const line = await this.reserve(ref, 'out');
    line.level = initial;
    try {
      await this.startHelper(line);
    } catch (err) {
      this.release(line);
      throw err;
    }
    return {
      ref,
      get level() {
        return line.level;
      },
      write: (level) => {
        const run = line.chain.then(() => this.rewrite(line, level));
        // The caller gets this write's error through `run`; the chain only orders the next write.
        line.chain = run.catch((err: unknown) => this.log.debug({ err, line: line.key }, 'GPIO write failed'));
        return run;
      },
    };
  }

  on<K extends keyof GpioBackendEvents>(event: K, listener: GpioBackendEvents[K]): void {
    this.events.on(event, listener);
  }

  off<K extends keyof GpioBackendEvents>(event: K, listener: GpioBackendEvents[K]): void {
    this.events.off(event, listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const line of this.lines.values()) this.release(line);
    this.lines.clear();
    await Promise.all([...this.procs].map((p) => stopProc(p, this.log)));
    this.events.removeAllListeners();
  }

  private async reserve(ref: LineRef, dir: 'in' | 'out'): Promise<Line> {
    if (this.closed) throw lineError(`${lineKey(ref)}: the gpiod backend is closed`);
    const { chip, offset } = await resolveLine(ref, this.tools.gpiofind, this.track);
    const key = `${chip}:${offset}`;
    const holder = this.lines.get(key);
    if (holder) {
      const as = holder.dir === 'in' ? 'input' : 'output';
      throw lineError(`line ${lineKey(ref)} (${key}) is already in use as an ${as} (${lineKey(holder.ref)})`);
    }
    const line: Line = {
      ref,
      chip,
      offset,
      key,
      dir,
      level: 0,
      phase: 'starting',
      attempt: 0,
      reportedFault: false,
      deaths: 0,
      lateRun: 0,
      chain: Promise.resolve(),
    };
    this.lines.set(key, line);
    return line;
  }

  private async rewrite(line: Line, level: 0 | 1): Promise<void> {
    if (this.gone(line)) throw lineError(`${line.key}: the gpiod backend is closed`);
    if (line.phase === 'up' && line.level === level) return;
    clearTimeout(line.timer); // this write re-asserts the line now; a pending restart would race it
    clearTimeout(line.stableTimer);
    const old = line.proc;
    line.proc = undefined;
    if (old) await stopProc(old, this.log);
    // Recorded before the spawn, so a failed write is retried (with backoff) at the level asked for.
    line.level = level;
    try {
      await this.startHelper(line);
    } catch (err) {
      if (this.gone(line)) throw err;
      line.phase = 'faulted';
      this.fault(line, err instanceof Error ? err : lineError(String(err)));
      this.scheduleRestart(line);
      throw err;
    }
    if (line.reportedFault && line.deaths <= 1) this.recovered(line);
  }
}
