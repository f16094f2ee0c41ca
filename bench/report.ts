// The readable table at the end of `npm run bench`, from bench/results/*.json (ratios to the
// same-run floors first, absolutes second), and the same as markdown in bench/results/summary.md.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BenchResult, type Check, isMain, machine, RESULTS, readResult } from './util.js';

export const ORDER = [
  'latency',
  'peers',
  'reconnect',
  'ingest',
  'drain',
  'footprint',
  'fleet',
  'consumer',
  'ack',
  'monitors',
  'doors',
] as const;

const fmt = (n: number | undefined) =>
  n === undefined ? '' : Math.abs(n) >= 1000 ? Math.round(n).toLocaleString('en') : String(n);

function verdict(c: Check): string {
  return c.pass === null ? 'info' : c.pass ? 'PASS' : 'MISS';
}

function rows(results: BenchResult[]): string[][] {
  const out: string[][] = [];
  for (const r of results) {
    for (const c of r.checks) {
      out.push([
        r.name,
        c.what,
        c.ratio !== undefined ? `${c.ratio}×` : '',
        `${fmt(c.value)} ${c.unit}`.trim(),
        c.floor !== undefined ? `${fmt(c.floor)} ${c.unit}`.trim() : '',
        c.target,
        verdict(c),
      ]);
    }
    if (!r.correctness.ok) out.push([r.name, 'CORRECTNESS', '', r.correctness.problems.join('; '), '', '', 'FAIL']);
  }
  return out;
}

const HEAD = ['bench', 'what', 'ratio', 'value', 'floor (same run)', 'target', 'result'];

export function textTable(results: BenchResult[]): string {
  const all = [HEAD, ...rows(results)];
  const widths = HEAD.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  return [line(HEAD), widths.map((w) => '-'.repeat(w)).join('  '), ...all.slice(1).map(line)].join('\n');
}

export function markdownTable(results: BenchResult[]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  return [
    `| ${HEAD.join(' | ')} |`,
    `|${HEAD.map(() => '---').join('|')}|`,
    ...rows(results).map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

export function loadResults(names: readonly string[] = ORDER): BenchResult[] {
  return names.map((n) => readResult(n)).filter((r): r is BenchResult => r !== undefined);
}

export function report(names: readonly string[] = ORDER): string {
  const results = loadResults(names);
  const m = results[0]?.machine ?? machine();
  const header = `machine: ${m.cpu}, ${m.cores} cores, ${m.memTotalMiB} MiB, node ${m.node}, Linux ${m.kernel}`;
  const cmd = results[0]?.command ?? '';
  const md = [`${header}  `, `command: \`${cmd}\``, '', markdownTable(results), ''].join('\n');
  writeFileSync(join(RESULTS, 'summary.md'), md);
  return `\n${header}\ncommand: ${cmd}\n\n${textTable(results)}\n`;
}

if (isMain(import.meta.url)) process.stdout.write(report());
