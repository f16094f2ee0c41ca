// CPU profiles: the alarm-latency and drain benchmarks run as child processes under --cpu-prof;
// each .cpuprofile is reduced to its top self-time functions (functionName + url:line).
// `npm run bench -- --profile [--quick]`, or `node dist/bench/profile.js FILE.cpuprofile...`.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { exited, flag, isMain, RESULTS, ROOT, round, spawnNode } from './util.js';

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }>;
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface ProfileTop {
  file: string;
  /** Node names profiles CPU.<date>.<time>.<pid>.<thread>.<seq>: thread 0 is the main thread. */
  thread: 'main' | 'worker';
  totalMs: number;
  idlePct: number;
  top: Array<{ fn: string; selfMs: number; pctOfBusy: number }>;
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

export function summarise(file: string, n = 10): ProfileTop {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const totalUs = prof.endTime - prof.startTime;
  const hits = prof.nodes.reduce((a, x) => a + (x.hitCount ?? 0), 0) || 1;
  const usPerHit = totalUs / hits;
  const bySite = new Map<string, number>();
  let idle = 0;
  for (const node of prof.nodes) {
    const h = node.hitCount ?? 0;
    if (h === 0) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += h;
      continue;
    }
    const name = functionName || '(anonymous)';
    const where = url ? ` ${shortUrl(url)}:${lineNumber + 1}` : '';
    const key = SPECIAL.has(name) ? name : `${name}${where}`;
    bySite.set(key, (bySite.get(key) ?? 0) + h);
  }
  const busy = hits - idle || 1;
  const top = [...bySite.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, h]) => ({ fn, selfMs: round((h * usPerHit) / 1000, 1), pctOfBusy: round((h / busy) * 100, 1) }));
  const thread = /\.\d+\.0\.\d+\.cpuprofile$/.test(file) ? 'main' : 'worker';
  return {
    file: relative(ROOT, file),
    thread,
    totalMs: round(totalUs / 1000, 0),
    idlePct: round((idle / hits) * 100, 1),
    top,
  };
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) return path.slice(nm + 'node_modules/'.length);
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path;
}

export function printTop(title: string, t: ProfileTop): void {
  process.stdout.write(`\n${title}, ${t.thread} thread  (${t.file}, ${t.totalMs} ms, idle ${t.idlePct}%)\n`);
  for (const f of t.top)
    process.stdout.write(`  ${String(f.pctOfBusy).padStart(5)}%  ${String(f.selfMs).padStart(8)} ms  ${f.fn}\n`);
}

/** Run one benchmark script under --cpu-prof; return the new .cpuprofile files it left. */
async function profiled(script: string, args: string[], dir: string, self: boolean): Promise<string[]> {
  const before = new Set(readdirSync(dir));
  // With `self` false only the agent child the benchmark spawns is profiled (drain: the parent
  // process is just the central subscriber).
  const child = spawnNode([join('dist', 'bench', script), ...args, '--cpu-prof-dir', dir], {
    execArgv: self ? ['--cpu-prof', '--cpu-prof-dir', dir] : [],
  });
  const code = await exited(child, 600_000);
  if (code !== 0) process.stderr.write(`[profile] ${script} exited ${code}\n`);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile') && !before.has(f))
    .map((f) => join(dir, f));
}

export async function profileAll(quick: boolean): Promise<number> {
  const dir = join(RESULTS, 'profiles');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const out: Record<string, ProfileTop[]> = {};
  const latencyFiles = await profiled('latency.js', [...(quick ? ['--quick'] : []), '--no-floor'], dir, true);
  out.latency = latencyFiles.map((f) => summarise(f));
  const drainFiles = await profiled('drain.js', ['--profile-run', ...(quick ? ['--quick'] : [])], dir, false);
  out.drain = drainFiles.map((f) => summarise(f));
  writeFileSync(join(RESULTS, 'profile-summary.json'), `${JSON.stringify(out, null, 2)}\n`);
  for (const [name, tops] of Object.entries(out)) for (const t of tops) printTop(`${name}: top self time`, t);
  return latencyFiles.length > 0 && drainFiles.length > 0 ? 0 : 1;
}

if (isMain(import.meta.url)) {
  const files = process.argv.slice(2).filter((a) => a.endsWith('.cpuprofile'));
  if (files.length > 0) for (const f of files) printTop('top self time', summarise(f));
  else profileAll(flag('quick')).then((code) => process.exit(code));
}
