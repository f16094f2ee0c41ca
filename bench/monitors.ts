// Monitors: 50 ONVIF cameras checked every 30 s (with the snapshot hash) and a UPS polled every
// 2 s must cost less than 2 % of one core (issue 9). The cameras and the NUT server run in another
// process (bench/monitors-peers.ts) so only the agent's side is measured: process.cpuUsage()
// (user + system) of this process over a window, divided by the window's wall time.
// Floor: the same agent with no cameras and no UPS, idle over its own window; the check is the
// difference (what the monitors add), the absolute values are reported beside it.

import { checkConfig } from '../agent/config/load.js';
import { Agent } from '../agent/runtime.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { connectRaw } from './floors.js';
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
  summary,
  tempDir,
} from './util.js';

const CAMERAS = 50;

function cpuPercent(fromCpu: NodeJS.CpuUsage, fromMs: number): number {
  const d = process.cpuUsage(fromCpu);
  return ((d.user + d.system) / 1000 / (performance.now() - fromMs)) * 100;
}

/** Presses rotate over this many buttons, as in bench/latency.ts: one line pressed ~1000 times a second is a flood the GPIO driver sheds. */
const BUTTONS = 40;

/** Press → central receipt of panic.pressed, one press at a time (as bench/latency.ts), ms. */
async function pressLatency(agent: Agent, brokerUrl: string, n: number): Promise<number[]> {
  const gw = agent.config.gateway.id;
  const sub = await connectRaw(brokerUrl, `central-monitors-${gw}-${process.pid}`);
  try {
    await sub.subscribeAsync(`wardgate/v1/${gw}/events/#`, { qos: 1 });
    let waiter: { type: string; resolve: (t: number) => void } | undefined;
    sub.on('message', (_topic, payload) => {
      const t = performance.now();
      const ev = JSON.parse(payload.toString()) as { type: string };
      if (waiter && ev.type === waiter.type) {
        const w = waiter;
        waiter = undefined;
        w.resolve(t);
      }
    });
    let device = 'panic-0';
    let next = 0;
    const one = async (active: boolean) => {
      if (active) device = `panic-${next++ % BUTTONS}`; // the release goes to the button just pressed
      const got = new Promise<number>((resolve) => {
        waiter = { type: active ? 'panic.pressed' : 'panic.released', resolve };
      });
      const t0 = performance.now();
      await agent.simulate(device, 'button', active);
      return (await got) - t0;
    };
    const out: number[] = [];
    for (let i = 0; i < n + 20; i++) {
      const e2e = await one(true);
      await one(false);
      if (i >= 20) out.push(e2e); // the first 20 warm up
    }
    return out;
  } finally {
    await sub.endAsync(true);
  }
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
  const presses = option('presses', quick ? 200 : 1000);
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
      // The same panic buttons in both: the alarm latency is measured with and without the monitors.
      const doc = configDoc({ id, dataDir: `${tmp.dir}/${id}`, brokers: [mosq.url], devices: BUTTONS });
      if (withMonitors) {
        doc.devices = [
          ...(doc.devices as unknown[]),
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
    const latencyFloor = summary(await pressLatency(idle, mosq.url, presses));
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
    // Presses while 50 cameras and the UPS keep being checked.
    const latency = summary(await pressLatency(agent, mosq.url, presses));
    const p99Ratio = latency.p99 / latencyFloor.p99;
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
      {
        what: 'alarm latency p99 with monitors (press → central)',
        value: round(latency.p99, 2),
        unit: 'ms',
        floor: round(latencyFloor.p99, 2),
        floorWhat: 'same agent without monitors',
        ratio: round(p99Ratio, 2),
        target: '≤ 1.5× (not moved)',
        pass: p99Ratio <= 1.5,
      },
      {
        what: 'alarm latency p50 with monitors',
        value: round(latency.p50, 2),
        unit: 'ms',
        floor: round(latencyFloor.p50, 2),
        ratio: round(latency.p50 / latencyFloor.p50, 2),
        target: '',
        pass: null,
      },
    ];
    return result(
      'monitors',
      'Camera and UPS monitoring cost',
      { cameras: CAMERAS, checkSec, upsPollSec: 2, windowMs, floorMs, snapshot: true, presses },
      checks,
      { floorPct, valuePct, addedPct, latency, latencyFloor, driversBefore: health0, driversAfter: health1 },
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
