// Test configs: a sim panic-button gateway pointed at the given brokers, data in a temp dir.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { checkConfig } from '../../agent/config/load.js';
import type { Config } from '../../agent/config/types.js';
import { hashToken } from '../../agent/web/auth.js';

export const TEST_TOKEN = 'test-token-0123456789';

export function tempDir(prefix = 'wg-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface TestConfigOptions {
  brokers: string[];
  dataDir?: string;
  buttons?: number;
  /** Severities cycled over the buttons (all critical by default). */
  severities?: Array<'critical' | 'high' | 'normal' | 'low'>;
  webPort?: number;
  inflight?: number;
  maxBytes?: number;
  debounceMs?: number;
  minHoldMs?: number;
  gatewayId?: string;
  protocol?: 'auto' | '5' | '3.1.1';
}

export function testConfigDoc(o: TestConfigOptions): Record<string, unknown> {
  const n = o.buttons ?? 4;
  const sev = o.severities ?? ['critical'];
  return {
    gateway: {
      id: o.gatewayId ?? 'test-gw',
      site: 'test-site',
      dataDir: o.dataDir ?? tempDir(),
      clock: { sync: 'assume' },
    },
    mqtt: {
      brokers: o.brokers,
      inflight: o.inflight ?? 64,
      protocol: o.protocol ?? 'auto',
      backoff: { minMs: 50, maxMs: 500 },
      connectTimeoutMs: 2000,
      keepaliveSec: 5,
    },
    outbox: { maxBytes: o.maxBytes ?? 64 * 1024 * 1024, checkpointIntervalMs: 200 },
    ...(o.webPort !== undefined
      ? { web: { host: '127.0.0.1', port: o.webPort, tokens: [hashToken(TEST_TOKEN)] } }
      : {}),
    log: { level: 'info' },
    gpio: { backend: 'sim' },
    devices: Array.from({ length: n }, (_, i) => ({
      id: `panic-${i}`,
      type: 'panic-button',
      name: `Button ${i}`,
      input: { line: 100 + i },
      debounceMs: o.debounceMs ?? 0,
      minHoldMs: o.minHoldMs ?? 0,
      severity: sev[i % sev.length],
    })),
  };
}

export function testConfig(o: TestConfigOptions): Config {
  const r = checkConfig(testConfigDoc(o));
  if (!r.ok) throw new Error(`test config invalid: ${r.problems.join('; ')}`);
  return r.config;
}

export function testConfigYaml(o: TestConfigOptions): string {
  return stringify(testConfigDoc(o));
}
