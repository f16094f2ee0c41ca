// UPS through the whole agent against Debian's real upsd + dummy-ups: the events a subscriber
// receives for OL → OB → OB LB → OL, upsd killed and back, a refused login, and the low-battery
// clean stop with the shutdown command replaced by a test hook (it writes a marker file).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkConfig } from '../../agent/config/load.js';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { contractErrors } from '../helpers/central.js';
import { useCleanups } from '../helpers/cleanup.js';
import { tempDir, testConfigDoc } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { NutServer } from '../helpers/nut-server.js';
import { waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const cleanup = useCleanups();

async function setup(ups: Record<string, unknown>, nutOver: Record<string, unknown> = {}) {
  const broker = await new Mosquitto().start();
  cleanup(() => broker.stop());
  const nut = await new NutServer().start();
  cleanup(() => nut.stop());
  const sub = await new Subscriber(broker.url).connect();
  cleanup(() => sub.close());
  const dir = tempDir();
  const doc = testConfigDoc({ brokers: [broker.url], dataDir: join(dir, 'data'), buttons: 0 });
  doc.devices = [
    {
      id: 'ups-1',
      type: 'ups',
      name: 'Server room UPS',
      nut: { host: '127.0.0.1', port: nut.port, ups: nut.ups, username: nut.user, password: nut.password, ...nutOver },
      pollSec: 0.5,
      ...ups,
    },
  ];
  const r = checkConfig(doc);
  if (!r.ok) throw new Error(r.problems.join('; '));
  const agent = await Agent.start({ config: r.config, log: createLogger('silent') });
  cleanup(() => agent.stop());
  const upsEvents = () => sub.events().filter((e) => e.type.startsWith('ups.') || e.type === 'gateway.stopping');
  const waitType = (type: string, n = 1) =>
    waitFor(() => upsEvents().filter((e) => e.type === type).length >= n, 30_000, `${n} × ${type}`);
  return { nut, agent, sub, dir, upsEvents, waitType };
}

describe('UPS against real upsd + dummy-ups', () => {
  it('OL → OB → OB LB → OL, upsd killed and back: exactly the right events, state with charge/runtime/load', async () => {
    const { nut, agent, sub, upsEvents, waitType } = await setup({ onLowBattery: { stop: false } });
    const state = () => agent.devices.snapshot(agent.devices.devices.get('ups-1') as never);
    await waitFor(() => state().state.nut === 'online', 30_000, 'UPS online');
    expect(state().state).toMatchObject({ power: 'mains', chargePercent: 100, runtimeSec: 1800, loadPercent: 20 });

    nut.setVars({ 'ups.status': 'OB DISCHRG', 'battery.charge': '70', 'battery.runtime': '900', 'ups.load': '22' });
    await waitType('ups.on_battery');
    nut.setVars({ 'ups.status': 'OB LB', 'battery.charge': '9', 'battery.runtime': '60', 'ups.load': '22' });
    await waitType('ups.low_battery');
    nut.setVars({ 'ups.status': 'OL CHRG', 'battery.charge': '12', 'battery.runtime': '120', 'ups.load': '20' });
    await waitType('ups.on_mains');
    await nut.stopUpsd();
    await waitType('ups.offline');
    await nut.startUpsd();
    await waitType('ups.online');
    // A few more polls: nothing repeats.
    await waitFor(() => state().state.chargePercent === 12, 30_000, 'state after restart');
    expect(upsEvents().map((e) => e.type)).toEqual([
      'ups.on_battery',
      'ups.low_battery',
      'ups.on_mains',
      'ups.offline',
      'ups.online',
    ]);
    // Every message published (events, state, health with `box`) against docs/asyncapi.yaml.
    expect(contractErrors(sub)).toEqual([]);
    const [onBattery, low] = upsEvents();
    expect(onBattery).toMatchObject({
      severity: 'high',
      device: 'ups-1',
      data: { chargePercent: 70, runtimeSec: 900 },
    });
    expect(low).toMatchObject({ severity: 'critical', data: { reason: 'LB', chargePercent: 9, runtimeSec: 60 } });
    expect(upsEvents()[3]?.data).toMatchObject({ code: 'WG_ERR_NUT_CONNECT' });
  });

  it('a refused login is a clear error: ups.offline with WG_ERR_NUT_AUTH / ACCESS-DENIED, in driver health', async () => {
    const { agent, upsEvents, waitType } = await setup({ onLowBattery: { stop: false } }, { password: 'wrong' });
    await waitType('ups.offline');
    expect(upsEvents()[0]?.data).toMatchObject({ code: 'WG_ERR_NUT_AUTH', nutCode: 'ACCESS-DENIED' });
    expect(JSON.stringify(agent.healthPayload())).toContain('WG_ERR_NUT_AUTH');
    // The box's own health rides in the same payload and in /metrics (no sensor here: unknown, not 0).
    await waitFor(() => (agent.healthPayload().box as { sampledAt: unknown }).sampledAt !== null, 10_000, 'box sample');
    expect(agent.healthPayload().box).toMatchObject({ cpuTempC: 'unknown', firmware: 'unknown', disk: { low: false } });
    const metrics = await agent.metrics.registry.metrics();
    expect(metrics).toMatch(/^wardgate_box_disk_free_bytes\{path="[^"]+"\} \d+/m);
    expect(metrics).not.toMatch(/^wardgate_box_cpu_temperature_celsius\{/m);
  });

  it('low battery: ups.low_battery, gateway.stopping (ups-low-battery), a clean stop, then the shutdown hook', async () => {
    const marker = join(tempDir(), 'shutdown-ran');
    const hook = [process.execPath, '-e', "require('fs').writeFileSync(process.argv[1], 'down')", marker];
    const { nut, agent, sub, upsEvents, waitType } = await setup({
      onLowBattery: { stop: true, shutdownCommand: hook },
    });
    await waitFor(() => nut.log.length > 0, 5_000, 'upsd log');
    nut.setVars({ 'ups.status': 'OB LB', 'battery.charge': '5', 'battery.runtime': '30' });
    await waitType('gateway.stopping');
    // (The hook creates the file before it writes it: wait for the content, not the name.)
    await waitFor(() => existsSync(marker) && readFileSync(marker, 'utf8') === 'down', 30_000, 'shutdown hook');
    // Lanes drain by priority (the critical low_battery may overtake on_battery): order by seq.
    const bySeq = [...upsEvents()].sort((a, b) => a.seq - b.seq);
    expect(bySeq.map((e) => e.type)).toEqual(['ups.on_battery', 'ups.low_battery', 'gateway.stopping']);
    expect(bySeq[2]?.data).toMatchObject({ reason: 'ups-low-battery' });
    // The stop was the agent's own clean one: status offline with the reason, the outbox closed.
    await waitFor(
      () => sub.messages.some((m) => m.topic.endsWith('/status') && m.payload.includes('"ups-low-battery"')),
      30_000,
      'status offline (ups-low-battery)',
    );
    await agent.stop(); // the stop already in progress (Agent.stop is shared), not a new one
    await expect(agent.accept(agent.gatewayEvent({ type: 'gateway.clock_synced', data: {} }))).rejects.toMatchObject({
      code: 'WG_ERR_OUTBOX_CLOSED',
    });
  });
});

describe('wardgate run on a UPS low battery', () => {
  it('the process stops cleanly (reason ups-low-battery), runs the shutdown hook and exits 0', async () => {
    const broker = await new Mosquitto().start();
    cleanup(() => broker.stop());
    const nut = await new NutServer().start();
    cleanup(() => nut.stop());
    const dir = tempDir();
    const marker = join(dir, 'shutdown-ran');
    const doc = testConfigDoc({ brokers: [broker.url], dataDir: join(dir, 'data'), buttons: 0 });
    doc.devices = [
      {
        id: 'ups-1',
        type: 'ups',
        nut: { port: nut.port, ups: nut.ups },
        pollSec: 0.5,
        onLowBattery: {
          shutdownCommand: [process.execPath, '-e', "require('fs').writeFileSync(process.argv[1], 'down')", marker],
        },
      },
    ];
    const agent = AgentProcess.withConfig(dir, stringify(doc));
    cleanup(() => agent.kill());
    await agent.start();
    const proc = agent.proc;
    if (!proc) throw new Error('no process');
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    nut.setVars({ 'ups.status': 'OB LB', 'battery.charge': '4', 'battery.runtime': '20' });
    expect(await exited).toBe(0);
    expect(readFileSync(marker, 'utf8')).toBe('down');
    expect(agent.out).toContain('"reason":"ups-low-battery"');
  });
});
