// The processes the side-by-side benches press (issue 13), each a child process with an HTTP
// press endpoint and its own MQTT connection to the one bench Mosquitto:
//  - wardgate: the real CLI with the systemd unit's node flags, POST /api/sim/{device}/button;
//  - reference: bench/reference.ts (node:http → better-sqlite3 FULL → mqtt.js QoS 1);
//  - Node-RED 4 (only with --peers): http in → function → mqtt out (QoS 1), not durable, installed
//    into a temp folder at bench time (`npm install --prefix`), never a dependency of wardgate.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { hashToken } from '../agent/web/auth.js';
import { freePort } from '../test/helpers/ports.js';
import { configDoc, DEPLOYED_NODE_FLAGS, kill, nextMessage, ROOT, spawnNode } from './util.js';

export const BENCH_TOKEN = 'bench-token-0123456789abcdef';
export const WARDGATE_GW = 'peer-gw';
const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 1 });

export interface Contender {
  name: 'wardgate' | 'reference' | 'node-red';
  /** Topic filter of its alarm events at the central subscriber. */
  filter: string;
  child: ChildProcess;
  /**
   * POST a press (or release) of button `n % 40`; resolves on the HTTP answer. Presses rotate over
   * the buttons: one line pressed hundreds of times a second is a flood the GPIO driver sheds.
   */
  press(active: boolean, n?: number): Promise<number>;
  stop(): Promise<void>;
}

export function post(port: number, path: string, body: string, headers: Record<string, string> = {}) {
  return new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: keepAlive,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Spawn the CLI; resolves once it logs READY. */
export async function startWardgate(dir: string, broker: string, extra: Record<string, unknown> = {}) {
  const port = await freePort();
  const doc = configDoc({ id: WARDGATE_GW, dataDir: join(dir, 'data'), brokers: [broker], devices: 40, level: 'warn' });
  doc.web = { host: '127.0.0.1', port, tokens: [hashToken(BENCH_TOKEN)] };
  Object.assign(doc, extra);
  const file = join(dir, 'wardgate.yaml');
  writeFileSync(file, stringify(doc));
  const child = spawn(
    process.execPath,
    [...DEPLOYED_NODE_FLAGS, join(ROOT, 'bin', 'wardgate.js'), 'run', '--config', file],
    { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const auth = { authorization: `Bearer ${BENCH_TOKEN}` };
  const c: Contender = {
    name: 'wardgate',
    filter: `wardgate/v1/${WARDGATE_GW}/events/panic-button/#`,
    child,
    press: (active, n = 0) =>
      post(port, `/api/sim/panic-${n % 40}/button`, active ? '{"active":true}' : '{"active":false}', auth),
    stop: () => kill(child, 8000),
  };
  return { contender: c, port };
}

export async function startReference(dir: string, broker: string): Promise<Contender> {
  const port = await freePort();
  const child = spawnNode(
    ['dist/bench/reference.js', '--broker', broker, '--db', join(dir, 'reference.db'), '--port', String(port)],
    { execArgv: DEPLOYED_NODE_FLAGS },
  );
  await nextMessage(child, (m: { kind: string }) => m.kind === 'ready', 30_000, 'the reference to connect');
  return {
    name: 'reference',
    filter: 'reference/events/panic-button/#',
    child,
    press: (active) => post(port, `/press?device=panic-0&active=${active ? 1 : 0}`, ''),
    stop: () => kill(child),
  };
}

/** Node-RED 4 in a temp folder, installed once per machine (serialised by /tmp/npm.lock). */
export function installNodeRed(): string {
  const prefix = join(tmpdir(), 'wg-bench-node-red');
  const red = join(prefix, 'node_modules', 'node-red', 'red.js');
  if (existsSync(red)) return red;
  mkdirSync(prefix, { recursive: true });
  process.stderr.write(`[bench] installing node-red@4 into ${prefix} (not a wardgate dependency) ...\n`);
  execFileSync(
    'flock',
    ['/tmp/npm.lock', 'npm', 'install', '--prefix', prefix, '--no-audit', '--no-fund', '--omit=dev', 'node-red@4'],
    { stdio: ['ignore', 'ignore', 'inherit'], timeout: 600_000 },
  );
  return red;
}

const FUNC = `const q = msg.req.query; const active = q.active !== '0'; const device = q.device || 'panic-0';
const seq = (context.get('seq') || 0) + 1; context.set('seq', seq);
const ev = { id: String(Math.random()).slice(2), seq, gateway: 'node-red', site: 'bench-site', device, deviceType: 'panic-button',
  type: active ? 'panic.pressed' : 'panic.released', severity: active ? 'critical' : 'normal', ts: new Date().toISOString(), data: {} };
const out = { topic: 'nodered/events/panic-button/' + device, payload: JSON.stringify(ev) };
msg.payload = { seq };
return [out, msg];`;

export async function startNodeRed(dir: string, brokerPort: number): Promise<Contender> {
  const red = installNodeRed();
  const port = await freePort();
  const user = join(dir, 'node-red');
  mkdirSync(user, { recursive: true });
  const flows = [
    { id: 'tab1', type: 'tab', label: 'bench' },
    { id: 'in1', type: 'http in', z: 'tab1', url: '/press', method: 'post', upload: false, wires: [['fn1']] },
    { id: 'fn1', type: 'function', z: 'tab1', func: FUNC, outputs: 2, wires: [['mq1'], ['res1']] },
    { id: 'mq1', type: 'mqtt out', z: 'tab1', topic: '', qos: '1', retain: 'false', broker: 'br1', wires: [] },
    { id: 'res1', type: 'http response', z: 'tab1', statusCode: '200', wires: [] },
    {
      id: 'br1',
      type: 'mqtt-broker',
      name: 'bench',
      broker: '127.0.0.1',
      port: String(brokerPort),
      clientid: `nodered-bench-${process.pid}`,
      autoConnect: true,
      usetls: false,
      protocolVersion: '4',
      keepalive: '60',
      cleansession: true,
    },
  ];
  writeFileSync(join(user, 'flows.json'), JSON.stringify(flows));
  writeFileSync(
    join(user, 'settings.js'),
    `module.exports = { uiPort: ${port}, uiHost: '127.0.0.1', flowFile: 'flows.json', httpAdminRoot: false,
      httpNodeRoot: '/', credentialSecret: false, logging: { console: { level: 'warn' } },
      diagnostics: { enabled: false }, telemetry: { enabled: false }, editorTheme: { tours: false } };\n`,
  );
  const child = spawn(process.execPath, [red, '--userDir', user, '--settings', join(user, 'settings.js')], {
    cwd: user,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return {
    name: 'node-red',
    filter: 'nodered/events/panic-button/#',
    child,
    press: (active) => post(port, `/press?device=panic-0&active=${active ? 1 : 0}`, ''),
    stop: () => kill(child),
  };
}
