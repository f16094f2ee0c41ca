// The fleet through `wardgate watch --json` at full size (issue 15's must-show; the scenario is
// test/helpers/watch-fleet.ts, which the integration test runs small):
//   node dist/bench/watch-fleet.js --gateways 100 --devices 20 [--rounds 6] [--consumers 2]
// or scripts/fleet.sh --watch …. Writes bench/results/watch-fleet.json.
import { runWatchFleet, type WatchFleetOptions } from '../test/helpers/watch-fleet.js';
import { flag, isMain, option, result, runMain } from './util.js';

export async function watchFleet() {
  const o: WatchFleetOptions = {
    gateways: option('gateways', flag('quick') ? 20 : 100),
    devices: option('devices', flag('quick') ? 5 : 20),
    rounds: option('rounds', 6),
    killed: option('killed', 3),
    outages: option('outages', 10),
    consumers: option('consumers', 1) === 2 ? 2 : 1,
    killConsumer: option('kill-consumer', 1) === 1,
    timeoutMs: option('timeout-sec', 300) * 1000,
  };
  const t0 = performance.now();
  const { verdict, stats } = await runWatchFleet(o);
  const { problems, ...counts } = verdict;
  return result(
    'watch-fleet',
    `Fleet through wardgate watch --json: ${o.gateways} gateways × ${o.devices} buttons`,
    { ...o },
    [
      {
        what: 'accepted events lost',
        value: counts.missingAccepted,
        unit: 'events',
        target: '0',
        pass: counts.missingAccepted === 0,
      },
      {
        what: 'order violations',
        value: counts.orderViolations,
        unit: '',
        target: '0',
        pass: counts.orderViolations === 0,
      },
      {
        what: 'unexplained gaps',
        value: counts.unexplainedGaps,
        unit: '',
        target: '0',
        pass: counts.unexplainedGaps === 0,
      },
    ],
    { ...counts, ...stats, wallMs: performance.now() - t0 },
    problems,
  );
}

if (isMain(import.meta.url)) runMain(watchFleet);
