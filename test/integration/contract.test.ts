// The MQTT contract (DESIGN §5, docs/asyncapi.yaml), checked on what a real subscriber receives
// from a real Mosquitto: payload schemas, retained status with a will, state re-published after a
// broker that lost everything, MQTT 5 properties, 3.1.1 fallback, failover, graceful stop.
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkConfig } from '../../agent/config/load.js';
import { startEmbeddedBroker } from '../../agent/embedded-broker.js';
import { createLogger } from '../../agent/log.js';
import { shippedFile } from '../../agent/paths.js';
import { Agent } from '../../agent/runtime.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { useCleanups } from '../helpers/cleanup.js';
import { tempDir, testConfig, testConfigDoc, testConfigYaml } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const cleanup = useCleanups();

const asyncapi = parse(readFileSync(shippedFile('docs', 'asyncapi.yaml'), 'utf8'));
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats.default(ajv);
const schemas = asyncapi.components.schemas as Record<string, object>;
const validators = Object.fromEntries(Object.entries(schemas).map(([k, s]) => [k, ajv.compile(s)]));

function kindOf(topic: string): string {
  const part = topic.split('/')[3];
  return part === 'events' ? 'event' : (part as string);
}

function schemaErrors(sub: Subscriber): string[] {
  const errors: string[] = [];
  for (const m of sub.messages) {
    const validate = validators[kindOf(m.topic)];
    if (!validate) {
      errors.push(`${m.topic}: no schema for this topic`);
      continue;
    }
    if (!validate(JSON.parse(m.payload))) errors.push(`${m.topic}: ${ajv.errorsText(validate.errors)}`);
  }
  return errors;
}

describe('MQTT contract', () => {
  it('publishes schema-valid status, state, health and events, with MQTT 5 properties', async () => {
    const broker = await new Mosquitto().start();
    cleanup(() => broker.stop());
    const sub = await new Subscriber(broker.url).connect();
    cleanup(() => sub.close());
    const agent = await Agent.start({
      config: testConfig({ brokers: [broker.url], buttons: 2, severities: ['critical', 'low'] }),
      log: createLogger('error'),
    });
    cleanup(() => agent.stop());
    await waitFor(() => agent.uplink.connected, 10_000, 'connected');
    expect(agent.uplink.protocolVersion).toBe(5);
    await agent.simulate('panic-0', 'button', true);
    await agent.simulate('panic-1', 'button', true);
    await waitFor(() => sub.events().filter((e) => e.type === 'panic.pressed').length === 2, 10_000, 'events');
    await waitFor(() => sub.messages.some((m) => m.topic.endsWith('/health')), 10_000, 'health');

    expect(schemaErrors(sub)).toEqual([]);
    const status = sub.messages.find((m) => m.topic === 'wardgate/v1/test-gw/status');
    expect(JSON.parse(status?.payload ?? '{}')).toMatchObject({ state: 'online', gateway: 'test-gw' });
    const press = sub.messages.find((m) => m.topic === 'wardgate/v1/test-gw/events/panic-button/panic-0');
    expect(press?.userProperties).toMatchObject({ severity: 'critical' });
    expect(press?.expiry).toBeUndefined(); // alarms never expire
    const low = sub.messages.find((m) => m.topic === 'wardgate/v1/test-gw/events/panic-button/panic-1');
    expect(low?.userProperties).toMatchObject({ severity: 'low' });
    expect(low?.expiry).toBeGreaterThan(0);
    // Device state goes out in a batch STATE_COALESCE_MS after the change, so it may trail the event.
    const lastState = () => sub.messages.filter((m) => m.topic.includes('/state/panic-0')).at(-1)?.payload ?? '';
    await waitFor(() => lastState().includes('"pressed":true'), 10_000, "panic-0's pressed state");
    expect(lastState()).toContain('"pressed":true');
  });

  it('the will marks the gateway offline on SIGKILL; a restart marks it online again', async () => {
    const broker = await new Mosquitto().start();
    cleanup(() => broker.stop());
    const dir = tempDir();
    const agent = AgentProcess.withConfig(dir, testConfigYaml({ brokers: [broker.url], dataDir: `${dir}/data` }));
    cleanup(() => agent.kill());
    await agent.start();
    const sub = await new Subscriber(broker.url, 'wardgate/v1/+/status').connect();
    cleanup(() => sub.close());
    const last = () => JSON.parse(sub.messages.at(-1)?.payload ?? '{}') as { state?: string; reason?: string };
    await waitFor(() => last().state === 'online', 10_000, 'retained online');
    await agent.kill('SIGKILL');
    await waitFor(() => last().state === 'offline', 10_000, 'will: offline');
    expect(last().reason).toBe('connection lost');
    await agent.start();
    await waitFor(() => last().state === 'online', 10_000, 'online again');
    await agent.kill('SIGTERM');
    await waitFor(() => last().state === 'offline' && last().reason === 'shutdown', 10_000, 'graceful offline');
    expect(schemaErrors(sub)).toEqual([]);
  });

  it('re-publishes every retained state after the broker restarts empty', async () => {
    const port = await freePort();
    const first = await new Mosquitto({ port }).start();
    const agent = await Agent.start({
      config: testConfig({ brokers: [first.url], buttons: 3 }),
      log: createLogger('error'),
    });
    cleanup(() => agent.stop());
    await waitFor(() => agent.uplink.connected, 10_000, 'connected');
    await agent.simulate('panic-2', 'button', true);
    await first.stop();
    const fresh = await new Mosquitto({ port }).start(); // new dir: no retained messages, no sessions
    cleanup(() => fresh.stop());
    await waitFor(() => agent.uplink.connected, 10_000, 'reconnected');
    const sub = await new Subscriber(fresh.url, 'wardgate/v1/test-gw/state/+').connect();
    cleanup(() => sub.close());
    await waitFor(() => new Set(sub.messages.map((m) => m.topic)).size === 3, 10_000, 'three retained states');
    expect(sub.messages.every((m) => m.retain)).toBe(true);
    const s2 = JSON.parse(sub.messages.find((m) => m.topic.endsWith('/panic-2'))?.payload ?? '{}');
    expect(s2).toMatchObject({ id: 'panic-2', availability: 'online', state: { pressed: true } });
  });

  it('falls back to MQTT 3.1.1 for a broker that refuses 5 (aedes), and fails over in order', async () => {
    const embedded = await startEmbeddedBroker(0);
    cleanup(() => embedded.close());
    const closedPort = await freePort();
    const agent = await Agent.start({
      config: testConfig({ brokers: [`mqtt://127.0.0.1:${closedPort}`, `mqtt://127.0.0.1:${embedded.port}`] }),
      log: createLogger('error'),
    });
    cleanup(() => agent.stop());
    const sub = await new Subscriber(`mqtt://127.0.0.1:${embedded.port}`).connectV311();
    cleanup(() => sub.close());
    await waitFor(() => agent.uplink.connected, 10_000, 'connected to the second broker');
    expect(agent.uplink.url).toBe(`mqtt://127.0.0.1:${embedded.port}`);
    expect(agent.uplink.protocolVersion).toBe(4);
    expect(agent.uplink.stats.connectFailures).toBeGreaterThanOrEqual(1);
    const r = await agent.simulate('panic-0', 'button', true);
    await waitFor(() => sub.events().some((e) => e.id === r.accepted[0]?.id), 10_000, 'event via aedes');
  });

  it('fails back to the first broker when it returns, leaving the fallback marked offline', async () => {
    const primaryPort = await freePort();
    const secondary = await new Mosquitto().start();
    cleanup(() => secondary.stop());
    const onSecondary = await new Subscriber(secondary.url, 'wardgate/v1/+/status').connect();
    cleanup(() => onSecondary.close());
    const doc = testConfigDoc({ brokers: [`mqtt://127.0.0.1:${primaryPort}`, secondary.url] }) as {
      mqtt: Record<string, unknown>;
    };
    doc.mqtt.failbackSec = 1;
    const checked = checkConfig(doc);
    if (!checked.ok) throw new Error(checked.problems.join('; '));
    const agent = await Agent.start({ config: checked.config, log: createLogger('error') });
    cleanup(() => agent.stop());
    await waitFor(() => agent.uplink.url === secondary.url, 10_000, 'on the fallback broker');

    const primary = await new Mosquitto({ port: primaryPort }).start();
    cleanup(() => primary.stop());
    const onPrimary = await new Subscriber(primary.url).connect();
    cleanup(() => onPrimary.close());
    await waitFor(() => agent.uplink.url === primary.url, 15_000, 'back on the first broker');
    const r = await agent.simulate('panic-0', 'button', true);
    await waitFor(
      () => onPrimary.events().some((e) => e.id === r.accepted[0]?.id),
      10_000,
      'event via the first broker',
    );
    const last = JSON.parse(onSecondary.messages.at(-1)?.payload ?? '{}');
    expect(last).toMatchObject({ state: 'offline', reason: 'failback' });
  }, 40_000);

  it('a graceful stop records gateway.stopping and publishes offline', async () => {
    const broker = await new Mosquitto().start();
    cleanup(() => broker.stop());
    const sub = await new Subscriber(broker.url).connect();
    cleanup(() => sub.close());
    const agent = await Agent.start({ config: testConfig({ brokers: [broker.url] }), log: createLogger('error') });
    await waitFor(() => agent.uplink.connected, 10_000, 'connected');
    await agent.stop('maintenance');
    await waitFor(() => sub.events().some((e) => e.type === 'gateway.stopping'), 10_000, 'stopping event');
    const status = sub.messages.filter((m) => m.topic.endsWith('/status')).at(-1);
    expect(JSON.parse(status?.payload ?? '{}')).toMatchObject({ state: 'offline', reason: 'maintenance' });
    expect(schemaErrors(sub)).toEqual([]);
  });
});
