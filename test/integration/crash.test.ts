// Crash safety: SIGKILL the real agent process at random moments, 20+ times, while events are
// injected through the sim API and drained to a real Mosquitto. Every event the agent accepted
// (the API answered 2xx) must reach the subscriber; duplicates only by id, at most one in-flight
// window per kill.
import { afterAll, describe, expect, it } from 'vitest';
import { AgentProcess } from '../helpers/agent-process.js';
import { duplicatesById, laneOrderViolations } from '../helpers/checks.js';
import { TEST_TOKEN, tempDir, testConfigYaml } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const KILLS = 20;
const INFLIGHT = 16;
const BUTTONS = 6;

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

// A seeded generator, so a failing run can be replayed with the same kill moments.
function lcg(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('crash safety under SIGKILL', () => {
  it(`loses nothing across ${KILLS} kills at random moments`, async () => {
    const seed = Number(process.env.WG_SEED ?? Date.now() % 100000);
    const rnd = lcg(seed);
    const broker = await new Mosquitto().start();
    cleanups.push(() => broker.stop());
    const sub = await new Subscriber(broker.url).connect();
    cleanups.push(() => sub.close());
    const dir = tempDir();
    const webPort = await freePort();
    const agent = AgentProcess.withConfig(
      dir,
      testConfigYaml({
        brokers: [broker.url],
        dataDir: `${dir}/data`,
        buttons: BUTTONS,
        severities: ['critical', 'high', 'normal', 'low'],
        webPort,
        inflight: INFLIGHT,
      }),
    );
    cleanups.push(() => agent.kill());

    const accepted = new Set<string>();
    const state = new Array<boolean>(BUTTONS).fill(false);
    let stop = false;
    let requests = 0;
    let refused = 0;
    const injector = async (worker: number) => {
      while (!stop) {
        const b = (worker + requests) % BUTTONS;
        state[b] = !state[b];
        requests++;
        try {
          const res = await fetch(`http://127.0.0.1:${webPort}/api/sim/panic-${b}/button`, {
            method: 'POST',
            headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
            body: JSON.stringify({ active: state[b] }),
            signal: AbortSignal.timeout(2000),
          });
          if (res.ok) {
            const body = (await res.json()) as { accepted: Array<{ id: string }> };
            for (const e of body.accepted) accepted.add(e.id);
          }
        } catch {
          refused++; // agent down or killed mid-request: nothing was promised
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    };

    await agent.start();
    const workers = [0, 1, 2].map((w) => injector(w));
    for (let k = 0; k < KILLS; k++) {
      // Each life accepts a few presses before its random moment of death, however slow a loaded
      // machine makes the restart, so the run always exercises kills with traffic in flight.
      const before = accepted.size;
      await waitFor(() => accepted.size >= before + 6, 60_000, `presses accepted after restart ${k}`);
      await new Promise((r) => setTimeout(r, 50 + rnd() * 400));
      await agent.kill('SIGKILL');
      await agent.start();
    }
    await new Promise((r) => setTimeout(r, 300));
    stop = true;
    await Promise.all(workers);

    await waitFor(
      () => {
        const got = new Set(sub.events().map((e) => e.id));
        return [...accepted].every((id) => got.has(id));
      },
      60_000,
      `all ${accepted.size} accepted events at the subscriber (seed ${seed})`,
    );
    const events = sub.events();
    const dups = duplicatesById(events);
    console.log(
      `crash test (seed ${seed}): ${KILLS} kills, ${requests} requests, ${refused} refused, ${accepted.size} accepted, ` +
        `${events.length} received, ${dups} duplicates, 0 lost`,
    );
    expect(accepted.size).toBeGreaterThan(KILLS * 5);
    expect(dups).toBeLessThanOrEqual(KILLS * INFLIGHT);
    expect(laneOrderViolations(events)).toEqual([]);
    // seq never reused across restarts: one id per seq.
    const bySeq = new Map<number, string>();
    for (const e of events) {
      expect(bySeq.get(e.seq) ?? e.id).toBe(e.id);
      bySeq.set(e.seq, e.id);
    }
  }, 240_000);
});
