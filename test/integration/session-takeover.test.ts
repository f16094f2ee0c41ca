// Two boxes configured with one gateway.id (a common installer mistake) on one real Mosquitto
// (issue 7, item 2): each connection takes the other's session over. Before, that was thousands
// of connections in 10 s, each firing the offline will. Now the backoff never resets on such short
// connections, a takeover is retried at the longest delay, and both boxes say why: /api/status,
// health, the log (once) and the technician's page in a real browser.
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { maxAttemptsWithin } from '../../agent/uplink/backoff.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { useCleanups } from '../helpers/cleanup.js';
import { TEST_TOKEN, tempDir, testConfigDoc } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const cleanup = useCleanups();
const BACKOFF = { minMs: 200, maxMs: 2000 };
const OBSERVE_MS = 15_000;

/** Broker-side connection times (whole seconds, from Mosquitto's log) of one client id. */
function connectSeconds(log: string, clientId: string): number[] {
  const re = new RegExp(`^(\\d+): New client connected from \\S+ as ${clientId} `, 'gm');
  return [...log.matchAll(re)].map((m) => Number(m[1]));
}

/** The most connections in any 10 s window (10 whole seconds of the log: up to 11 s of real time). */
function busiestWindow(seconds: number[]): number {
  return Math.max(0, ...seconds.map((s) => seconds.filter((t) => t >= s && t < s + 10).length));
}

async function status(port: number): Promise<Record<string, unknown> & { uplink: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${port}/api/status`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  return (await r.json()) as Record<string, unknown> & { uplink: Record<string, unknown> };
}

describe('two boxes with one gateway.id', () => {
  it('keep their connections within what the backoff allows, and say why', async () => {
    const broker = await new Mosquitto({ extra: ['log_type notice', 'connection_messages true'] }).start();
    cleanup(() => broker.stop());
    const health = await new Subscriber(broker.url, 'wardgate/v1/test-gw/health').connect();
    cleanup(() => health.close());

    const boxes: Array<{ agent: AgentProcess; webPort: number }> = [];
    for (let i = 0; i < 2; i++) {
      const dir = tempDir();
      const webPort = await freePort();
      const doc = testConfigDoc({ brokers: [broker.url], dataDir: `${dir}/data`, webPort }) as {
        mqtt: Record<string, unknown>;
      };
      // stableSec stays at its default (30 s); the takeover delay is the cap here, so both boxes keep
      // fighting long enough to both see it (at the default 30 s the first to see it steps back).
      doc.mqtt.backoff = { ...BACKOFF, takeoverMs: BACKOFF.maxMs };
      const agent = AgentProcess.withConfig(dir, stringify(doc));
      cleanup(() => agent.kill());
      await agent.start();
      boxes.push({ agent, webPort });
    }
    const t0 = Date.now();
    await waitFor(
      async () => (await Promise.all(boxes.map((b) => status(b.webPort)))).every((s) => s.uplink.sessionTakenOver),
      60_000, // a loaded machine slows the fight; the count below is what is bounded, not this wait
      'both boxes report the takeover',
    );
    await new Promise((r) => setTimeout(r, Math.max(0, OBSERVE_MS - (Date.now() - t0)))); // observe the fight

    const seconds = connectSeconds(broker.log, 'wardgate-test-gw');
    const perWindow = busiestWindow(seconds);
    const allowed = 2 * maxAttemptsWithin(BACKOFF, 11_000);
    const statuses = await Promise.all(boxes.map((b) => status(b.webPort)));
    const connects = statuses.reduce((n, s) => n + (s.uplink.connects as number), 0);
    console.log(
      `takeover: ${seconds.length} connections in ${seconds.length ? (seconds.at(-1) as number) - (seconds[0] as number) + 1 : 0} s ` +
        `(agents count ${connects}), busiest 10 s window ${perWindow}, the backoff allows ${allowed}`,
    );
    expect(seconds.length).toBeGreaterThanOrEqual(4); // they did fight
    expect(perWindow).toBeLessThanOrEqual(allowed);

    for (const s of statuses) {
      expect(s.uplink).toMatchObject({ sessionTakenOver: true, lastErrorCode: 'WG_ERR_UPLINK_SESSION_TAKEN_OVER' });
      // Mosquitto 2.0.11 closes the old connection without DISCONNECT 0x8E: recognised by its pattern.
      expect(s.uplink.lastError).toMatch(/0x8e session taken over|connections in a row ended within seconds/);
      expect(s.uplink.hint).toMatch(/gateway\.id/);
    }
    await waitFor(
      () =>
        health.messages.some(
          (m) => (JSON.parse(m.payload) as { uplink?: { sessionTakenOver?: boolean } }).uplink?.sessionTakenOver,
        ),
      20_000,
      'health says so too',
    );
    // The technician's page (a real browser) says it in its header and under Uplink.
    const browser = await chromium.launch({
      executablePath: process.env.WARDGATE_CHROMIUM ?? '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
    });
    cleanup(() => browser.close());
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${boxes[0]?.webPort}/#token=${TEST_TOKEN}`);
    await expect.poll(() => page.locator('#link').textContent(), { timeout: 10_000 }).toContain('session taken over');
    const uplinkText = await page.locator('#uplink').textContent();
    expect(uplinkText).toContain('WG_ERR_UPLINK_SESSION_TAKEN_OVER');
    expect(uplinkText).toContain('gateway.id');

    // Logged once per state change, not once per takeover.
    for (const { agent } of boxes) {
      const lines = agent.out.split('\n').filter((l) => l.includes('"msg":"session taken over"'));
      expect(lines.length).toBe(1);
      expect(lines[0]).toContain('"level":50');
      expect(lines[0]).toContain('WG_ERR_UPLINK_SESSION_TAKEN_OVER');
    }
  }, 150_000);
});
