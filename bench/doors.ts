// Doors (issue 8): 32 doors on one Modbus TCP bus. The achieved poll cycle of wardgate (a real
// Agent: bus loop, driver, supervisor, registry, door models) against a bare modbus-serial loop
// reading the same registers (FC2, 4 inputs per unit) from the same server in the same run,
// in alternating windows so both see the same machine. Doors poll as fast as the bus allows
// (pollMs forced to 1 after validation) so the cycle measures the stack, not the configured period.
// Then the alarm path with doors polling at their default 250 ms: sim panic press → durable
// (the event committed) p50/p99, against the same agent with no doors.
import { createRequire } from 'node:module';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';
import { checkConfig } from '../agent/config/load.js';
import type { Config } from '../agent/config/types.js';
import { Agent } from '../agent/runtime.js';
import {
  benchLogger,
  type Check,
  configDoc,
  flag,
  isMain,
  kill,
  nextMessage,
  result,
  round,
  runMain,
  sleep,
  spawnNode,
  summary,
  tempDir,
  until,
} from './util.js';

const DOORS = 32;
const Client = createRequire(import.meta.url)('modbus-serial') as new () => ModbusRTU;

function doorsConfig(dir: string, port: number, doors: number, pollMs: number): Config {
  const doc = configDoc({ id: 'doors-gw', dataDir: dir, brokers: ['mqtt://127.0.0.1:1'], devices: 1 });
  const r = checkConfig({
    ...doc,
    ...(doors > 0 ? { buses: [{ id: 'bus', type: 'modbus-tcp', host: '127.0.0.1', port, timeoutMs: 500 }] } : {}),
    devices: [
      ...(doc.devices as unknown[]),
      ...Array.from({ length: doors }, (_, i) => ({
        id: `door-${i + 1}`,
        type: 'door',
        bus: 'bus',
        unitId: i + 1,
        profile: 'generic-door',
        pollMs: Math.max(20, pollMs),
      })),
    ],
  });
  if (!r.ok) throw new Error(r.problems.join('\n'));
  // As fast as the bus allows: below the schema's minimum on purpose (bench only).
  for (const d of r.config.devices) if (d.type === 'door') d.pollMs = pollMs;
  return r.config;
}

/** Bare loop: one client, the same 32 reads in turn, for `ms`. Returns ms per full cycle. */
async function bareWindow(port: number, ms: number): Promise<{ cycleMs: number; reads: number }> {
  const c = new Client();
  c.on('error', () => undefined);
  await c.connectTCP('127.0.0.1', { port });
  c.setTimeout(500);
  let reads = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (let u = 1; u <= DOORS; u++) {
      c.setID(u);
      await c.readDiscreteInputs(0, 4);
      reads++;
    }
  }
  const elapsed = performance.now() - t0;
  await new Promise<void>((r) => c.close(() => r()));
  return { cycleMs: elapsed / (reads / DOORS), reads };
}

function requestsOf(agent: Agent): number {
  let n = 0;
  for (const d of agent.deviceStates()) n += Number((d.driver as { requests?: number } | undefined)?.requests ?? 0);
  return n;
}

/** wardgate: the agent polls 32 doors for `ms`. Returns ms per full cycle. */
async function agentWindow(dir: string, port: number, ms: number): Promise<{ cycleMs: number; reads: number }> {
  const agent = await Agent.start({ config: doorsConfig(dir, port, DOORS, 1), log: benchLogger() });
  try {
    await until(() => agent.deviceStates().every((d) => d.availability === 'online'), 15_000, 'doors online');
    const r0 = requestsOf(agent);
    const t0 = performance.now();
    await sleep(ms);
    const reads = requestsOf(agent) - r0;
    return { cycleMs: (performance.now() - t0) / (reads / DOORS), reads };
  } finally {
    await agent.stop('bench window over');
  }
}

async function pressLatency(dir: string, port: number, doors: number, presses: number): Promise<number[]> {
  const agent = await Agent.start({ config: doorsConfig(dir, port, doors, 250), log: benchLogger() });
  try {
    await until(() => agent.deviceStates().every((d) => d.availability === 'online'), 15_000, 'devices online');
    // Timed to the commit of the event (the outbox's accepted listener), not to simulate()'s
    // return: a press decided in the check phase after simulate() looked is still measured.
    let waiting: { type: string; resolve: () => void } | undefined;
    agent.outbox.onAccepted((accepted) => {
      if (waiting && accepted.some((e) => e.device === 'panic-0' && e.type === waiting?.type)) {
        const w = waiting;
        waiting = undefined;
        w.resolve();
      }
    });
    const out: number[] = [];
    for (let i = 0; i < presses; i++) {
      for (const active of [true, false]) {
        const type = active ? 'panic.pressed' : 'panic.released';
        const durable = new Promise<void>((resolve) => {
          waiting = { type, resolve };
        });
        const t0 = performance.now();
        await agent.simulate('panic-0', 'button', active);
        await durable;
        if (active) out.push(performance.now() - t0);
      }
      // Under the GPIO flood guard's 200 edges/s: presses, not a chattering line.
      await sleep(12);
    }
    return out;
  } finally {
    await agent.stop('bench over');
  }
}

export async function doors() {
  const quick = flag('quick');
  const windowMs = quick ? 1500 : 2500;
  const rounds = quick ? 3 : 7;
  const presses = quick ? 100 : 400;
  const peer = spawnNode(['dist/bench/doors-peer.js', String(DOORS)]);
  try {
    const { port } = await nextMessage<{ port: number }>(peer, (m) => typeof m?.port === 'number', 15_000, 'peer');
    const bare: number[] = [];
    const ours: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const tmpA = tempDir('doors');
      try {
        bare.push((await bareWindow(port, windowMs)).cycleMs);
        ours.push((await agentWindow(tmpA.dir, port, windowMs)).cycleMs);
      } finally {
        tmpA.cleanup();
      }
    }
    const tmpB = tempDir('doors-lat');
    const tmpC = tempDir('doors-lat0');
    let withDoors: ReturnType<typeof summary>;
    let without: ReturnType<typeof summary>;
    try {
      without = summary(await pressLatency(tmpC.dir, port, 0, presses));
      withDoors = summary(await pressLatency(tmpB.dir, port, DOORS, presses));
    } finally {
      tmpB.cleanup();
      tmpC.cleanup();
    }
    // The machine drifts (other work, fsync storms): each wardgate window is compared with the bare
    // window just before it, and the median of those ratios is the result.
    const ratios = ours.map((o, i) => o / (bare[i] as number));
    const ratio = summary(ratios).p50;
    const bareCycle = summary(bare).p50;
    const ourCycle = summary(ours).p50;
    const checks: Check[] = [
      {
        what: `poll cycle, ${DOORS} doors on one TCP bus`,
        value: round(ourCycle, 2),
        unit: 'ms',
        floor: round(bareCycle, 2),
        floorWhat: 'bare modbus-serial loop, same 32 reads, same server, same run',
        ratio: round(ratio, 2),
        target: '≤ 1.2× floor (median of paired windows)',
        pass: ratio <= 1.2,
      },
      {
        what: 'press → durable p99 with 32 doors polling (250 ms)',
        value: round(withDoors.p99),
        unit: 'ms',
        floor: round(without.p99),
        floorWhat: 'same agent without doors',
        ratio: round(withDoors.p99 / without.p99, 2),
        target: '—',
        pass: null,
      },
      {
        what: 'press → durable p50 with 32 doors polling (250 ms)',
        value: round(withDoors.p50),
        unit: 'ms',
        floor: round(without.p50),
        floorWhat: 'same agent without doors',
        ratio: round(withDoors.p50 / without.p50, 2),
        target: '—',
        pass: null,
      },
    ];
    return result(
      'doors',
      'Doors: 32 on one Modbus TCP bus vs a bare modbus-serial loop; alarm path with doors polling',
      {
        doors: DOORS,
        windowMs,
        rounds,
        presses,
        read: 'FC2 × 4 inputs per unit',
        peer: 'modbus-serial ServerTCP, own process',
      },
      checks,
      {
        bareCycleMs: bare,
        wardgateCycleMs: ours,
        pairedRatios: ratios,
        pressDurableWithDoors: withDoors,
        pressDurableWithout: without,
      },
    );
  } finally {
    await kill(peer);
  }
}

if (isMain(import.meta.url)) runMain(doors);
