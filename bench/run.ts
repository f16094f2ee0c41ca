// `npm run bench [-- --quick] [-- --profile] [-- --only latency,drain]`: each benchmark runs in its
// own node process (clean heap, clean RSS), writes bench/results/<name>.json, and the table is
// printed at the end. Missed targets are reported, not failed; a correctness failure (loss, an
// incomplete drain) or a crash makes the exit code non-zero.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { profileAll } from './profile.js';
import { ORDER, report } from './report.js';
import { DEPLOYED_NODE_FLAGS, exited, flag, kill, killAll, optionString, RESULTS, spawnNode } from './util.js';

const TIMEOUT_MS = {
  latency: 300_000,
  peers: 900_000,
  reconnect: 300_000,
  ingest: 300_000,
  drain: 1_200_000,
  footprint: 120_000,
  fleet: 600_000,
  consumer: 600_000,
  ack: 600_000,
  monitors: 300_000,
  doors: 300_000,
};
/** A benchmark whose file is not its result name. */
const FILE: Partial<Record<(typeof ORDER)[number], string>> = { ack: 'ack-roundtrip' };

async function main(): Promise<number> {
  const quick = flag('quick');
  const args = process.argv.slice(2);
  process.env.WG_BENCH_COMMAND = `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`;
  if (flag('profile')) return profileAll(quick);
  const only = optionString('only')?.split(',');
  const names = ORDER.filter((n) => !only || only.includes(n));
  const failed: string[] = [];
  const t0 = Date.now();
  for (const name of names) {
    rmSync(join(RESULTS, `${name}.json`), { force: true }); // never report a stale result
    process.stderr.write(`[bench] ${name}${quick ? ' (quick)' : ''} ...\n`);
    const started = Date.now();
    // Each benchmark (and the agents it runs in-process) with the node flags wardgate is deployed with.
    // --peers: the side-by-side bench also runs Node-RED (installed into a temp folder on first use).
    const pass = [...(quick ? ['--quick'] : []), ...(flag('peers') ? ['--peers'] : [])];
    const child = spawnNode([`dist/bench/${FILE[name] ?? name}.js`, ...pass], {
      // The harness (subscribers holding a million ids, 100 in-process agents) is not the agent: no
      // old-space cap for it. Processes that are wardgate (the CLI, the drain child) get the unit's flags.
      execArgv: DEPLOYED_NODE_FLAGS.filter((f) => !f.startsWith('--max-old-space-size')),
    });
    let code: number | null;
    try {
      code = await exited(child, TIMEOUT_MS[name] ?? 600_000);
    } catch (err) {
      process.stderr.write(`[bench] ${name}: ${(err as Error).message}\n`);
      await kill(child);
      code = -1;
    }
    process.stderr.write(`[bench] ${name}: exit ${code} after ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    if (code !== 0) failed.push(`${name} (exit ${code})`);
  }
  process.stdout.write(report(names));
  process.stdout.write(`\ntotal ${((Date.now() - t0) / 1000).toFixed(1)} s; results in bench/results/\n`);
  if (failed.length > 0) process.stdout.write(`FAILED (correctness or crash): ${failed.join(', ')}\n`);
  return failed.length > 0 ? 1 : 0;
}

const stop = () => {
  void killAll().finally(() => process.exit(130));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
main()
  .then((code) => {
    process.exitCode = code;
  })
  .catch(async (err) => {
    process.stderr.write(`[bench] ${(err as Error).stack ?? err}\n`);
    process.exitCode = 2;
  })
  .finally(() => killAll());
