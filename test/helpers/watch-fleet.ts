// The fleet through `wardgate watch --json` (issue 15's must-show): N gateways × M sim panic
// buttons on one persistent Mosquitto; some gateways lose their path for a while (a TCP proxy
// taken away) and, with a small outbox cap and low-severity buttons, evict and announce; some run
// as real `wardgate run` processes that are SIGKILLed and restarted; the consumer itself is
// SIGKILLed mid-run and restarted on its persistent session. With `consumers: 2` the consumers
// share one `$share` group. The verdict comes from the consumers' output lines (watch-checks.ts).
// Full size: `node dist/bench/watch-fleet.js --gateways 100 --devices 20 [--rounds 6]`
// (scripts/fleet.sh --watch …); the integration test runs it small.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { checkConfig } from '../../agent/config/load.js';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import { hashToken } from '../../agent/web/auth.js';
import { checkWatch, type WatchVerdict } from '../../bench/watch-checks.js';
import { AgentProcess } from './agent-process.js';
import { tempDir } from './config.js';
import { Mosquitto } from './mosquitto.js';
import { freePort } from './ports.js';
import { CuttableProxy } from './proxy.js';
import { WARDGATE, WatchProcess } from './watch-process.js';

export interface WatchFleetOptions {
  gateways: number;
  devices: number;
  rounds: number;
  /** Gateways run as real processes, SIGKILLed and restarted once. */
  killed: number;
  /** Gateways behind a proxy taken away for the middle rounds; every other one evicts. */
  outages: number;
  consumers: 1 | 2;
  /** SIGKILL the (first) consumer mid-run and start it again. */
  killConsumer: boolean;
  timeoutMs: number;
}

export interface WatchFleetStats {
  accepted: number;
  /** Presses the sim could not report durable in time (not counted as accepted). */
  notDurable: number;
  evicted: number;
  consumerStarts: number;
  /** Connections that found their persistent session on the broker (a restart resumed it). */
  sessionsResumed: number;
  perConsumer0: number;
  perConsumer1: number;
}

const TOKEN = 'watch-fleet-token-0123456789';
type Accepted = Map<string, { gateway: string; seq: number }>;

export async function runWatchFleet(o: WatchFleetOptions): Promise<{ verdict: WatchVerdict; stats: WatchFleetStats }> {
  const tmp = { dir: tempDir('wg-watch-fleet-') };
  const log = createLogger('silent');
  const broker = await new Mosquitto().start();
  const agents: Agent[] = [];
  const procs: Array<{ name: string; proc: AgentProcess; port: number }> = [];
  const proxies: CuttableProxy[] = [];
  const consumers: WatchProcess[] = [];
  const accepted: Accepted = new Map();
  let notDurable = 0;
  const take = (list: Array<{ id: string; seq: number; gateway: string }>) => {
    for (const e of list) accepted.set(e.id, { gateway: e.gateway, seq: e.seq });
  };
  try {
    for (let c = 0; c < o.consumers; c++) {
      const args = [
        '--broker',
        broker.url,
        '--client-id',
        `control-room-${c}`,
        '--state-dir',
        join(tmp.dir, `watch-${c}`),
      ];
      args.push('--from-seq-one', '--max-wait-ms', o.consumers > 1 ? '300' : '1000', '--gap-timeout-sec', '600');
      if (o.consumers > 1) args.push('--share', 'control-room');
      consumers.push(await new WatchProcess(args).start());
    }
    for (let g = 0; g < o.gateways; g++) {
      const id = `gw-${String(g).padStart(3, '0')}`;
      const outage = g >= o.killed && g < o.killed + o.outages;
      const evicts = outage && (g - o.killed) % 2 === 0;
      let url = broker.url;
      if (outage) {
        const p = await new CuttableProxy(broker.port).start();
        proxies.push(p);
        url = `mqtt://127.0.0.1:${p.port}`;
      }
      const doc = gatewayDoc(id, join(tmp.dir, id), url, o.devices);
      if (evicts) {
        // Low-severity presses (telemetry) and a cap a few rounds of them overflow.
        doc.outbox = { maxBytes: 6 * 1024 };
        for (const d of doc.devices as Array<Record<string, unknown>>) d.severity = 'low';
      }
      if (g < o.killed) {
        const port = await freePort();
        doc.web = { host: '127.0.0.1', port, tokens: [hashToken(TOKEN)] };
        doc.log = { level: 'info' }; // AgentProcess waits for the "wardgate ready" line
        const dir = join(tmp.dir, `${id}-proc`);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'config.yaml'), stringify(doc));
        const proc = await new AgentProcess(join(dir, 'config.yaml'), {}, WARDGATE).start();
        procs.push({ name: id, proc, port });
      } else {
        const r = checkConfig(doc);
        if (!r.ok) throw new Error(r.problems.join('; '));
        agents.push(await Agent.start({ config: r.config, log: log.child({ gateway: id }) }));
      }
    }
    const press = async (round: number) => {
      const active = [true, false];
      for (const a of active) {
        const work: Array<Promise<void>> = [];
        for (const agent of agents)
          for (let d = 0; d < o.devices; d++)
            work.push(
              agent
                .simulate(`panic-${d}`, 'button', a)
                .then((r) => take(r.accepted))
                // Not durable within the sim's deadline (a loaded box): promised nothing, may still come.
                .catch(() => {
                  notDurable++;
                }),
            );
        for (const p of procs)
          for (let d = 0; d < o.devices; d++)
            work.push(
              fetch(`http://127.0.0.1:${p.port}/api/sim/panic-${d}/button`, {
                method: 'POST',
                headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
                body: JSON.stringify({ active: a }),
                signal: AbortSignal.timeout(5000),
              })
                .then(async (res) => {
                  if (res.ok)
                    take(
                      ((await res.json()) as { accepted: Array<{ id: string; seq: number; gateway: string }> })
                        .accepted,
                    );
                })
                .catch(() => undefined), // a killed gateway promised nothing
            );
        await Promise.all(work);
      }
      void round;
    };
    const mid = Math.floor(o.rounds / 2);
    for (let r = 0; r < o.rounds; r++) {
      if (r === 1) await Promise.all(proxies.map((p) => p.stop()));
      if (r === mid && o.killConsumer) await consumers[0]?.stop('SIGKILL');
      await press(r);
      if (r === 2) for (const p of procs) await p.proc.kill('SIGKILL');
      if (r === 2) for (const p of procs) await p.proc.start();
      if (r === mid && o.killConsumer) await consumers[0]?.start();
      if (r === o.rounds - 2) await Promise.all(proxies.map((p) => p.start(p.port)));
    }
    // Everything accepted is printed, or inside a range printed as announced.
    const verdictNow = () =>
      checkWatch(
        consumers.map((c) => c.records),
        accepted,
      );
    const deadline = Date.now() + o.timeoutMs;
    while (Date.now() < deadline) {
      if (agents.every((a) => a.outbox.depth === 0) && verdictNow().missingAccepted === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    // A last tick's worth of held events, then a clean stop (snapshot).
    await new Promise((r) => setTimeout(r, 1500));
    for (const c of consumers) await c.stop('SIGTERM');
    const verdict = verdictNow();
    const evicted = agents.reduce((n, a) => n + a.outbox.evictedTotal, 0);
    if (evicted === 0 && o.outages > 0)
      verdict.problems.push('no gateway evicted: the scenario did not exercise evictions');
    return {
      verdict,
      stats: {
        accepted: accepted.size,
        notDurable,
        evicted,
        consumerStarts: consumers.reduce((n, c) => n + c.starts, 0),
        sessionsResumed: consumers.reduce(
          (n, c) => n + c.records.filter((r) => r.kind === 'consumer' && r.sessionPresent === true).length,
          0,
        ),
        perConsumer0: consumers[0]?.events().length ?? 0,
        perConsumer1: consumers[1]?.events().length ?? 0,
      },
    };
  } finally {
    for (const c of consumers) await c.stop('SIGKILL');
    await Promise.all(agents.map((a) => a.stop('done').catch(() => undefined)));
    for (const p of procs) await p.proc.kill('SIGKILL');
    for (const p of proxies) await p.stop();
    await broker.stop('SIGKILL');
    rmSync(broker.dir, { recursive: true, force: true });
    rmSync(tmp.dir, { recursive: true, force: true });
  }
}

/** A gateway's config as a user writes it: sim panic buttons, quick reconnects. */
function gatewayDoc(id: string, dataDir: string, broker: string, devices: number): Record<string, unknown> {
  return {
    gateway: { id, site: 'fleet-site', dataDir, clock: { sync: 'assume' } },
    mqtt: { brokers: [broker], backoff: { minMs: 50, maxMs: 500 }, keepaliveSec: 5 },
    log: { level: 'error' },
    gpio: { backend: 'sim' },
    devices: Array.from({ length: devices }, (_, i) => ({
      id: `panic-${i}`,
      type: 'panic-button',
      name: `Button ${i}`,
      location: `Ward, bay ${i}`,
      input: { line: i },
      debounceMs: 0,
      minHoldMs: 0,
    })),
  };
}
