// Helpers for driving libgpiod's command-line tools (v1.6, Debian 12 / Raspberry Pi OS bookworm):
// child processes that always report how they ended, the tool runner, and gpiomon's output parser.
import { type ChildProcess, spawn } from 'node:child_process';
import { basename } from 'node:path';
import type { Logger } from 'pino';
import { uptimeMs } from '../../agent/clock.js';
import { errorMessage, WardgateError } from '../../agent/errors.js';
import { type LineRef, lineKey } from './backend.js';

export interface ToolPaths {
  gpiomon: string;
  gpioget: string;
  gpioset: string;
  gpiofind: string;
}

export const DEFAULT_TOOLS: ToolPaths = {
  gpiomon: 'gpiomon',
  gpioget: 'gpioget',
  gpioset: 'gpioset',
  gpiofind: 'gpiofind',
};

/**
 * gpiomon v1.6 format: offset, event (1 rising, 0 falling), seconds, nanoseconds. Space-separated
 * on purpose: v1.6 prints %n with plain "%ld" (no zero padding), so "%s.%n" would read 5000 ns as
 * .5 s.
 */
export const GPIOMON_FORMAT = '%o %e %s %n';

export interface ProcEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the executable could not be started at all (ENOENT, EACCES). */
  spawnError?: Error;
  stderr: string;
}

export interface Proc {
  readonly child: ChildProcess;
  readonly what: string;
  /** Resolves (never rejects) once the process has exited and its pipes are drained. */
  readonly ended: Promise<ProcEnd>;
  /** True until the process has exited (or failed to start). */
  alive(): boolean;
}

const STDERR_KEEP = 2000;

/** Spawns a tool with stdout piped (caller reads it) and the tail of stderr kept for error messages. */
export function startProc(file: string, args: string[]): Proc {
  const what = `${basename(file)} ${args.join(' ')}`;
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let exited = false;
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP);
  });
  const ended = new Promise<ProcEnd>((resolve) => {
    // Node may emit 'error' and then 'close' for one failed spawn; the first report wins.
    // `on`, not `once`: an 'error' with no listener left would throw out of the event loop.
    child.on('error', (err) => {
      if (child.pid !== undefined) return; // a failed kill(), not a failed start: 'close' follows
      exited = true;
      resolve({ code: null, signal: null, spawnError: err, stderr });
    });
    child.once('exit', () => {
      exited = true;
    });
    child.once('close', (code, signal) => {
      exited = true;
      resolve({ code, signal, stderr });
    });
  });
  return { child, what, ended, alive: () => !exited };
}

/** One line saying how a process ended, with its stderr: this is what a technician will read. */
export function describeEnd(what: string, end: ProcEnd): string {
  if (end.spawnError) return `${what} could not be started: ${end.spawnError.message}`;
  const how = end.signal ? `was killed by ${end.signal}` : `exited with code ${end.code}`;
  const err = end.stderr.trim();
  return err ? `${what} ${how}: ${err}` : `${what} ${how}`;
}

/** Runs a short-lived tool (gpioget, gpiofind); rejects with its stderr when it exits non-zero. */
export async function runTool(
  file: string,
  args: string[],
  track: (p: Proc) => void,
  timeoutMs = 5000,
): Promise<string> {
  const p = startProc(file, args);
  track(p);
  let stdout = '';
  p.child.stdout?.setEncoding('utf8');
  p.child.stdout?.on('data', (chunk: string) => {
    stdout += chunk;
  });
  // A chip stuck in its driver can hang the ioctl; never let an open() hang with it.
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  const end = await p.ended;
  clearTimeout(timer);
  if (end.code !== 0) throw new Error(describeEnd(p.what, end));
  return stdout;
}

export const lineError = (detail: string, cause?: unknown): WardgateError =>
  new WardgateError('WG_ERR_GPIO_LINE', detail, { cause });

/** gpiod accepts "0", "gpiochip0" and "/dev/gpiochip0" for one chip; key lines by one spelling. */
export function normaliseChip(chip: string): string {
  const c = chip.trim();
  if (/^\d+$/.test(c)) return `gpiochip${c}`;
  return /^\/dev\/(gpiochip\d+)$/.exec(c)?.[1] ?? c;
}

/** Chip and offset of a ref; a line name is looked up with `gpiofind NAME` ("gpiochip0 17"). */
export async function resolveLine(
  ref: LineRef,
  gpiofind: string,
  track: (p: Proc) => void,
): Promise<{ chip: string; offset: number }> {
  const chip = normaliseChip(ref.chip);
  if (typeof ref.line === 'number') {
    if (!Number.isInteger(ref.line) || ref.line < 0) throw lineError(`${lineKey(ref)}: offset must be an integer ≥ 0`);
    if (!chip) throw lineError(`line ${ref.line}: a chip is needed with an offset`);
    return { chip, offset: ref.line };
  }
  let out: string;
  try {
    out = await runTool(gpiofind, [ref.line], track);
  } catch (err) {
    // v1.6 gpiofind exits 1 without a word when no line has the name, so the name goes in here.
    throw lineError(`no GPIO line is named "${ref.line}" (${errorMessage(err)})`, err);
  }
  const m = /^(\S+) (\d+)$/.exec(out.trim());
  if (!m?.[1]) throw lineError(`gpiofind ${ref.line} printed "${out.trim()}", not "CHIP OFFSET"`);
  if (chip && chip !== m[1]) throw lineError(`line "${ref.line}" is on ${m[1]}, not on ${chip}`);
  return { chip: m[1], offset: Number(m[2]) };
}

export async function readLevel(
  gpioget: string,
  chip: string,
  offset: number,
  track: (p: Proc) => void,
): Promise<0 | 1> {
  let out: string;
  try {
    out = await runTool(gpioget, [chip, String(offset)], track);
  } catch (err) {
    throw lineError(errorMessage(err), err);
  }
  const v = out.trim();
  if (v !== '0' && v !== '1') throw lineError(`gpioget ${chip} ${offset} printed "${v}", not 0 or 1`);
  return v === '1' ? 1 : 0;
}

/** SIGTERM first (both tools release the line cleanly on it), SIGKILL after this long. */
const KILL_GRACE_MS = 2000;

/** Kills a helper by its PID and waits until it has exited. */
export async function stopProc(p: Proc, log: Pick<Logger, 'warn'>): Promise<void> {
  if (!p.alive()) {
    await p.ended;
    return;
  }
  p.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), KILL_GRACE_MS);
  });
  if ((await Promise.race([p.ended, grace])) === 'timeout') {
    log.warn({ pid: p.child.pid, what: p.what }, 'GPIO helper ignored SIGTERM; killing it');
    p.child.kill('SIGKILL');
    await p.ended;
  }
  clearTimeout(timer);
}

export interface MonitorEvent {
  offset: number;
  level: 0 | 1;
  sec: number;
  nsec: number;
}

/** Longest plausible event line; anything longer without a newline is junk, not a slow writer. */
const MAX_LINE = 256;

/** Splits gpiomon's stdout into events. Pipe chunks can end mid-line; junk is reported, never thrown. */
export class GpiomonParser {
  private rest = '';

  constructor(
    private readonly onEvent: (ev: MonitorEvent) => void,
    private readonly onGarbage: (line: string) => void,
  ) {}

  /** Returns how many events the chunk completed. */
  push(chunk: string): number {
    const lines = (this.rest + chunk).split('\n');
    this.rest = lines.pop() ?? '';
    if (this.rest.length > MAX_LINE) {
      this.onGarbage(this.rest.slice(0, 80));
      this.rest = '';
    }
    let events = 0;
    for (const line of lines) if (this.parseLine(line)) events++;
    return events;
  }

  private parseLine(raw: string): boolean {
    const line = raw.trim();
    if (line === '') return false;
    const m = /^(\d+) ([01]) (\d+) (\d+)$/.exec(line);
    const nsec = Number(m?.[4]);
    if (!m || nsec >= 1e9) {
      this.onGarbage(line.slice(0, 80));
      return false;
    }
    this.onEvent({ offset: Number(m[1]), level: m[2] === '1' ? 1 : 0, sec: Number(m[3]), nsec });
    return true;
  }
}

/**
 * Wall and monotonic times of a kernel edge timestamp. The v1 uAPI stamps line events with
 * CLOCK_MONOTONIC since Linux 5.7 and with CLOCK_REALTIME before, and gpiomon v1.6 does not say
 * which: the nearer clock wins (they differ by decades, so the guess cannot be close).
 */
export function edgeTimes(
  sec: number,
  nsec: number,
  nowWall = Date.now(),
  nowUptime = uptimeMs(),
): { ts: number; uptimeMs: number } {
  const ms = sec * 1000 + nsec / 1e6;
  if (Math.abs(nowWall - ms) < Math.abs(nowUptime - ms)) return { ts: ms, uptimeMs: nowUptime - (nowWall - ms) };
  return { ts: nowWall - (nowUptime - ms), uptimeMs: ms };
}

/** Versions checked per gpiomon path: one `--version` per process, not per backend. */
const versions = new Map<string, Promise<void>>();

/**
 * Refuses the libgpiod v2 tools with a clear error: they take other options (no --line-buffered,
 * no --mode=signal, -c CHIP) and print other formats, and no v2 tool was available to test against.
 * A tool that prints no version at all is given the benefit of the doubt (it fails later, loudly).
 */
export function toolsVersion(gpiomon: string, track: (p: Proc) => void): Promise<void> {
  let v = versions.get(gpiomon);
  if (!v) {
    v = (async () => {
      let out: string;
      try {
        out = await runTool(gpiomon, ['--version'], track);
      } catch (err) {
        throw lineError(`cannot run the libgpiod tools (${errorMessage(err)}); install Debian's gpiod package`, err);
      }
      const m = /\(libgpiod\) v(\d+)\.(\d+)/.exec(out);
      if (m && Number(m[1]) >= 2) {
        throw lineError(
          `${basename(gpiomon)} is libgpiod v${m[1]}.${m[2]}; the gpiod backend needs the v1.6 tools ` +
            '(Debian 12 / Raspberry Pi OS bookworm package gpiod), or use gpio.backend: onoff',
        );
      }
    })();
    // A failed check is not cached: the tools may be installed while the agent keeps retrying.
    v.catch(() => versions.delete(gpiomon));
    versions.set(gpiomon, v);
  }
  return v;
}
