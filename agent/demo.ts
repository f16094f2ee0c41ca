// `wardgate demo`: the whole system on a laptop. Every device is simulated, an embedded broker runs
// on localhost, and the web page can press the buttons.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseConfigText } from './config/load.js';
import { startEmbeddedBroker } from './embedded-broker.js';
import { createLogger } from './log.js';
import { startAll } from './main.js';
import { shippedFile } from './paths.js';
import { hashToken, newToken } from './web/auth.js';

export interface DemoOptions {
  webPort: number;
  mqttPort: number;
  dataDir?: string;
}

export async function demo(opts: DemoOptions): Promise<number> {
  // A newcomer's machine may already run a broker on 1883 or something on 8080: take a free port
  // rather than fail, and print what was used.
  const broker = await startEmbeddedBroker(opts.mqttPort).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE') throw err;
    return startEmbeddedBroker(0);
  });
  const token = newToken();
  const config = parseConfigText(readFileSync(shippedFile('config', 'demo.yaml'), 'utf8'), 'config/demo.yaml');
  config.mqtt.brokers = [`mqtt://127.0.0.1:${broker.port}`];
  config.gateway.dataDir = resolve(opts.dataDir ?? config.gateway.dataDir);
  config.web = { ...config.web, port: opts.webPort, tokens: [hashToken(token)] };
  const log = createLogger(config.log?.level ?? 'info');
  const running = await startAll(config, log).catch(async (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EADDRINUSE') throw err;
    config.web = { ...config.web, port: 0 };
    return startAll(config, log);
  });
  const web = running.webUrl ?? '';
  const p = config.mqtt.prefix;
  process.stdout.write(
    [
      '',
      'wardgate demo is running (all devices simulated).',
      `  web page:   ${web}/#token=${token}`,
      `  API token:  ${token}`,
      `  broker:     mqtt://127.0.0.1:${broker.port} (embedded, MQTT 3.1.1)`,
      `  subscribe:  mosquitto_sub -h 127.0.0.1 -p ${broker.port} -t '${p}/#' -v`,
      `  press:      curl -s -X POST -H 'authorization: Bearer ${token}' -H 'content-type: application/json' \\`,
      `                -d '{"active":true}' ${web}/api/sim/panic-ed-triage-1/button`,
      `  force door: same with ${web}/api/sim/door-pharmacy/open (Modbus TCP, in-process controller)`,
      `  outbox:     ${config.gateway.dataDir}`,
      'Ctrl-C stops it.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((done) => {
    const stop = () => {
      running
        .stop('demo stopped')
        .catch((err) => log.error({ err }, 'error while stopping'))
        .then(() => broker.close())
        .finally(() => done());
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
