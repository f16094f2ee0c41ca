// Shared by every benchmark: machine facts, percentiles, the result file format, bench configs,
// child processes that are always killed, and /proc readings.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pino, { type Logger } from 'pino';
import { checkConfig } from '../agent/config/load.js';
import type { Config } from '../agent/config/types.js';

/** The repository root (this file runs from dist/bench/). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const RESULTS = join(ROOT, 'bench', 'results');
export const DIST_BENCH = fileURLToPath(new URL('./', import.meta.url));

export interface Check {
  what: string;
  value: number;
  unit: string;
  /** The same-run floor this is compared with, when there is one. */
  floor?: number;
  floorWhat?: string;
  /** value / floor (or floor / value for throughputs), so that 1.0 means "as fast as the floor". */
  ratio?: number;
  target: string;
  /** null: reported, no target. */
  pass: boolean | null;
}

export interface BenchResult {
  name: string;
  title: string;
  machine: ReturnType<typeof machine>;
  command: string;
  startedAt: string;
  durationMs: number;
  params: Record<string, unknown>;
  checks: Check[];
  /** Correctness (loss, duplicates beyond dedup, order): a failure here fails the run. */
  correctness: { ok: boolean; problems: string[] };
  raw: Record<string, unknown>;
}

export function machine() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    node: process.version,
    kernel: release(),
    memTotalMiB: Math.round(totalmem() / 2 ** 20),
  };
}

export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === url;
}

export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

export function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) ? v : fallback;
}

export function optionString(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** How this run can be reproduced (run.ts passes its own command line down). */
export function command(): string {
  return process.env.WG_BENCH_COMMAND ?? `node ${process.argv.slice(1).join(' ')}`;
}

/** Nearest-rank percentile of an ascending array. */
export function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

export function summary(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / (s.length || 1);
  return { n: s.length, min: s[0] ?? 0, p50: pct(s, 50), p90: pct(s, 90), p99: pct(s, 99), max: s.at(-1) ?? 0, mean };
}

export const round = (n: number, digits = 3) => Number(n.toFixed(digits));

export function writeResult(r: BenchResult): string {
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `${r.name}.json`);
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
  return file;
}

export function readResult(name: string): BenchResult | undefined {
  try {
    return JSON.parse(readFileSync(join(RESULTS, `${name}.json`), 'utf8')) as BenchResult;
  } catch {
    return undefined;
  }
}

/** A temp dir removed by `cleanup()`. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `wg-bench-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Warnings and errors only, to stderr: stdout stays free for results. */
export function benchLogger(level = 'warn'): Logger {
  return pino({ level, base: { svc: 'wardgate-bench' } }, pino.destination({ fd: 2, sync: false }));
}

export interface BenchConfigOptions {
  id: string;
  dataDir: string;
  brokers: string[];
  devices?: number;
  inflight?: number;
  backoff?: { minMs: number; maxMs: number };
  web?: boolean;
  level?: string;
  /** outbox.maxBytes (default cap 256 MiB: a 1M backlog of ~330-byte normal events exceeds it). */
  outboxMaxBytes?: number;
}

export function panicDevices(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    id: `panic-${i}`,
    type: 'panic-button',
    name: `Bench button ${i}`,
    location: `Bench ward, bay ${i}`,
    input: { line: i },
    debounceMs: 0,
    minHoldMs: 0,
  }));
}

/** A config document as a YAML/JSON user would write it, validated with defaults applied. */
export function configDoc(o: BenchConfigOptions): Record<string, unknown> {
  return {
    gateway: { id: o.id, site: 'bench-site', dataDir: o.dataDir, clock: { sync: 'assume' } },
    mqtt: { brokers: o.brokers, inflight: o.inflight ?? 64, ...(o.backoff ? { backoff: o.backoff } : {}) },
    ...(o.outboxMaxBytes ? { outbox: { maxBytes: o.outboxMaxBytes } } : {}),
    ...(o.web ? { web: { host: '127.0.0.1', port: 0 } } : {}),
    log: { level: o.level ?? 'warn' },
    gpio: { backend: 'sim' },
    devices: panicDevices(o.devices ?? 0),
  };
}

export function benchConfig(o: BenchConfigOptions): Config {
  const r = checkConfig(configDoc(o));
  if (!r.ok) throw new Error(`bench config invalid:\n${r.problems.join('\n')}`);
  return r.config;
}

/** Spawn a node child (IPC channel on) that is tracked so `killAll()` can end it. */
const children = new Set<ChildProcess>();
export function spawnNode(args: string[], opts: { execArgv?: string[]; stdout?: 'pipe' | 'inherit' } = {}) {
  const child = spawn(process.execPath, [...(opts.execArgv ?? []), ...args], {
    cwd: ROOT,
    stdio: ['ignore', opts.stdout ?? 'inherit', 'inherit', 'ipc'],
    env: process.env,
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGTERM, then SIGKILL after `graceMs`: resolves once the process is gone. */
export async function kill(child: ChildProcess | undefined, graceMs = 3000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(t);
}

export async function killAll(): Promise<void> {
  await Promise.all([...children].map((c) => kill(c)));
}

/** Wait for a child to exit normally (profiles are written at a normal exit). */
export function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`child ${child.pid} did not exit in ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

/** The next IPC message that satisfies `match`. */
export function nextMessage<T>(child: ChildProcess, match: (m: T) => boolean, timeoutMs: number, what: string) {
  return new Promise<T>((resolve, reject) => {
    const onMsg = (m: unknown) => {
      if (!match(m as T)) return;
      done();
      resolve(m as T);
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`child exited (${code}) before ${what}`));
    };
    const t = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const done = () => {
      clearTimeout(t);
      child.off('message', onMsg);
      child.off('exit', onExit);
    };
    child.on('message', onMsg);
    child.once('exit', onExit);
  });
}

/** Wall time in ms with sub-ms resolution, comparable across processes on one machine. */
export const wallNow = () => performance.timeOrigin + performance.now();

/** VmRSS of a process in bytes (Linux). */
export function procRss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** utime + stime of a process, in clock ticks (USER_HZ = 100 on Linux). */
export function procCpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

export const MiB = 2 ** 20;

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function until(cond: () => boolean, timeoutMs: number, what: string, everyMs = 5): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Run a benchmark's main: write its result, exit 1 only on a correctness failure or a crash. */
export function runMain(fn: () => Promise<BenchResult>): void {
  const started = Date.now();
  fn().then(
    (r) => {
      r.startedAt = new Date(started).toISOString();
      r.durationMs = Date.now() - started;
      // A profiling run is slower by design: it never replaces the benchmark's real result.
      if (optionString('cpu-prof-dir') === undefined) {
        const file = writeResult(r);
        process.stderr.write(`[bench] ${r.name}: wrote ${file}\n`);
      }
      if (!r.correctness.ok) process.stderr.write(`[bench] ${r.name}: CORRECTNESS FAILED: ${r.correctness.problems}\n`);
      process.exitCode = r.correctness.ok ? 0 : 1;
    },
    async (err) => {
      process.stderr.write(`[bench] failed: ${(err as Error).stack ?? err}\n`);
      await killAll();
      process.exitCode = 2;
    },
  );
}

export function result(
  name: string,
  title: string,
  params: Record<string, unknown>,
  checks: Check[],
  raw: Record<string, unknown>,
  problems: string[] = [],
): BenchResult {
  return {
    name,
    title,
    machine: machine(),
    command: command(),
    startedAt: new Date().toISOString(),
    durationMs: 0,
    params,
    checks,
    correctness: { ok: problems.length === 0, problems },
    raw,
  };
}

/** Kill a test-helper Mosquitto and remove its temp dir. */
export async function stopBroker(b: { stop(signal?: NodeJS.Signals): Promise<void>; dir: string }): Promise<void> {
  await b.stop('SIGKILL').catch(() => undefined);
  rmSync(b.dir, { recursive: true, force: true });
}

/** The node flags the systemd unit runs wardgate with: measured as deployed, floor included. */
export const DEPLOYED_NODE_FLAGS: string[] = (() => {
  const unit = readFileSync(join(ROOT, 'systemd', 'wardgate.service'), 'utf8');
  const exec = /^ExecStart=\S*node((?:\s+--\S+)*)\s/m.exec(unit);
  return exec?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
})();
