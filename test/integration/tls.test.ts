// TLS to the broker: server verification against the configured CA, an mTLS client certificate,
// and a password taken from an environment variable (never from the YAML, never logged).
import { execFileSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../agent/config/load.js';
import type { Config } from '../../agent/config/types.js';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import { makePki } from '../helpers/certs.js';
import { useCleanups } from '../helpers/cleanup.js';
import { tempDir, testConfigDoc } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const cleanup = useCleanups();

const SECRET = 'pw-Zx81-never-logged';

async function tlsBroker(dir: string) {
  const pki = makePki(dir);
  execFileSync('mosquitto_passwd', ['-b', '-c', `${dir}/passwd`, 'test-gw', SECRET]);
  const tlsPort = await freePort();
  const broker = await new Mosquitto({
    prelude: ['per_listener_settings true'],
    extra: [
      `listener ${tlsPort} 127.0.0.1`,
      `cafile ${pki.ca}`,
      `certfile ${pki.serverCert}`,
      `keyfile ${pki.serverKey}`,
      'require_certificate true',
      'allow_anonymous false',
      `password_file ${dir}/passwd`,
    ],
  }).start();
  return { pki, broker, tlsUrl: `mqtts://127.0.0.1:${tlsPort}` };
}

function config(doc: Record<string, unknown>): Config {
  const r = checkConfig(doc);
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.config;
}

describe('TLS uplink', () => {
  it('connects with CA verification, a client certificate and a password from the environment', async () => {
    const dir = tempDir();
    const { pki, broker, tlsUrl } = await tlsBroker(dir);
    cleanup(() => broker.stop());
    const sub = await new Subscriber(broker.url).connect(); // the plain listener, for the test's eyes
    cleanup(() => sub.close());
    const doc = testConfigDoc({ brokers: [tlsUrl] }) as { mqtt: Record<string, unknown> };
    doc.mqtt.username = 'test-gw';
    doc.mqtt.password = { env: 'WG_TEST_MQTT_PASSWORD' };
    doc.mqtt.tls = { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey };
    process.env.WG_TEST_MQTT_PASSWORD = SECRET;
    let logged = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        logged += chunk.toString();
        cb();
      },
    });
    const agent = await Agent.start({ config: config(doc), log: createLogger('debug', sink) });
    cleanup(() => agent.stop());
    await waitFor(() => agent.uplink.connected, 10_000, 'TLS connection');
    const r = await agent.simulate('panic-0', 'button', true);
    await waitFor(() => sub.events().some((e) => e.id === r.accepted[0]?.id), 10_000, 'event over TLS');
    expect(logged).toContain('broker connected');
    expect(logged).not.toContain(SECRET);
    expect(JSON.stringify(agent.status())).not.toContain(SECRET);
  });

  it('refuses a broker whose certificate does not verify against the configured CA', async () => {
    const dir = tempDir();
    const { pki, broker, tlsUrl } = await tlsBroker(dir);
    cleanup(() => broker.stop());
    const other = makePki(tempDir()); // a different CA
    const doc = testConfigDoc({ brokers: [tlsUrl] }) as { mqtt: Record<string, unknown> };
    doc.mqtt.username = 'test-gw';
    doc.mqtt.password = SECRET;
    doc.mqtt.tls = { ca: other.ca, cert: pki.clientCert, key: pki.clientKey };
    const agent = await Agent.start({ config: config(doc), log: createLogger('fatal') });
    cleanup(() => agent.stop());
    await waitFor(() => agent.uplink.stats.connectFailures >= 2, 10_000, 'failed attempts');
    expect(agent.uplink.connected).toBe(false);
    expect(agent.uplink.stats.lastError).toMatch(/certificate/i);
  });

  it('a missing password variable is a clear startup error', async () => {
    const doc = testConfigDoc({ brokers: ['mqtts://127.0.0.1:8883'] }) as { mqtt: Record<string, unknown> };
    doc.mqtt.password = { env: 'WG_TEST_UNSET_VARIABLE' };
    delete process.env.WG_TEST_UNSET_VARIABLE;
    await expect(Agent.start({ config: config(doc), log: createLogger('fatal') })).rejects.toMatchObject({
      code: 'WG_ERR_SECRET_MISSING',
      message: expect.stringContaining('WG_TEST_UNSET_VARIABLE'),
    });
  });
});
