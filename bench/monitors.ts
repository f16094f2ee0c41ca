// Monitors: 50 ONVIF cameras checked every 30 s (with the snapshot hash) and a UPS polled every
// 2 s must cost less than 2 % of one core (issue 9). The cameras and the NUT server run in another
// process (bench/monitors-peers.ts) so only the agent's side is measured: process.cpuUsage()
// (user + system) of this process over a window, divided by the window's wall time.
// Floor: the same agent with no cameras and no UPS, idle over its own window; the check is the
// difference (what the monitors add), the absolute values are reported beside it.

import { checkConfig } from '../agent/config/load.js';
import { Agent } from '../agent/runtime.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import {
  benchLogger,
  type Check,
  configDoc,
  DEPLOYED_NODE_FLAGS,
  flag,
  isMain,
  kill,
  nextMessage,
  option,
  result,
  round,
  runMain,
  sleep,
  spawnNode,
  stopBroker,
  tempDir,
} from './util.js';

const CAMERAS = 50;

function cpuPercent(fromCpu: NodeJS.CpuUsage, fromMs: number): number {
  const d = process.cpuUsage(fromCpu);
  return ((d.user + d.system) / 1000 / (performance.now() - fromMs)) * 100;
}

async function measure(windowMs: number): Promise<number> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await sleep(windowMs);
  return cpuPercent(cpu0, t0);
}

export async function monitors() {
  const quick = flag('quick');
  const windowMs = option('window-sec', quick ? 30 : 60) * 1000;
  const floorMs = option('floor-sec', quick ? 10 : 20) * 1000;
  const checkSec = option('check-sec', 30);
  const tmp = tempDir('monitors');
  const mosq = new Mosquitto();
  const peers = spawnNode(['dist/bench/monitors-peers.js', String(CAMERAS)], { execArgv: DEPLOYED_NODE_FLAGS });
  const agents: Agent[] = [];
  try {
    await mosq.start();
    const { ports, nutPort } = await nextMessage<{ ports: number[]; nutPort: number }>(
      peers,
      (m) => Array.isArray((m as { ports?: unknown }).ports),
      60_000,
      'peers ready',
    );
    const start = async (id: string, withMonitors: boolean) => {
      const doc = configDoc({ id, dataDir: `${tmp.dir}/${id}`, brokers: [mosq.url] });
      if (withMonitors) {
        doc.devices = [
          ...ports.map((port, i) => ({
            id: `cam-${i}`,
            type: 'camera',
            covers: `bench area ${i}`,
            onvif: { host: '127.0.0.1', port, username: 'admin', password: 'cam-secret' },
            checkSec,
            snapshot: { staleChecks: 3 },
          })),
          { id: 'ups-0', type: 'ups', nut: { port: nutPort, ups: 'bench' }, pollSec: 2, onLowBattery: { stop: false } },
        ];
      }
      const r = checkConfig(doc);
      if (!r.ok) throw new Error(r.problems.join('\n'));
      const agent = await Agent.start({ config: r.config, log: benchLogger() });
      agents.push(agent);
      return agent;
    };

    // Floor: an idle agent with nothing to monitor.
    const idle = await start('mon-floor', false);
    await sleep(2_000);
    const floorPct = await measure(floorMs);
    await idle.stop();

    const agent = await start('mon-gw', true);
    // Warm-up: one full interval so every camera has its session, capabilities and snapshot URI.
    await sleep(checkSec * 1000 + 5_000);
    const online = () =>
      [...agent.devices.devices.values()].filter((d) => d.cfg.type === 'camera' && d.model.state().status === 'online')
        .length;
    const onlineBefore = online();
    const health0 = agent.supervisor.health();
    const valuePct = await measure(windowMs);
    const health1 = agent.supervisor.health();
    const onlineAfter = online();
    const ups = agent.devices.devices.get('ups-0')?.model.state();
    const addedPct = valuePct - floorPct;
    const problems: string[] = [];
    if (onlineBefore !== CAMERAS || onlineAfter !== CAMERAS)
      problems.push(`cameras online ${onlineBefore}/${onlineAfter} of ${CAMERAS}`);
    if (ups?.nut !== 'online') problems.push(`UPS not online: ${JSON.stringify(ups)}`);
    const checks: Check[] = [
      {
        what: `CPU added by ${CAMERAS} cameras/${checkSec} s + UPS/2 s`,
        value: round(addedPct, 3),
        unit: '% of one core',
        floor: round(floorPct, 3),
        floorWhat: 'idle agent, no monitors',
        target: '< 2 %',
        pass: addedPct < 2,
      },
      {
        what: 'CPU of the agent with monitors (absolute)',
        value: round(valuePct, 3),
        unit: '% of one core',
        target: '',
        pass: null,
      },
    ];
    return result(
      'monitors',
      'Camera and UPS monitoring cost',
      { cameras: CAMERAS, checkSec, upsPollSec: 2, windowMs, floorMs, snapshot: true },
      checks,
      { floorPct, valuePct, addedPct, driversBefore: health0, driversAfter: health1 },
      problems,
    );
  } finally {
    for (const a of agents) await a.stop().catch(() => undefined);
    await kill(peers);
    await stopBroker(mosq);
    tmp.cleanup();
  }
}

if (isMain(import.meta.url)) runMain(monitors);
