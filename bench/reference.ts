// The hand-written durable reference (issue 13): the least code that does the same durable work as
// wardgate's alarm path — node:http in, one better-sqlite3 row committed with synchronous=FULL
// (WAL), then mqtt.js QoS 1 out, the HTTP answer once the row is on disk. No validation, no
// model, no lanes, no window: what the hardware and the libraries cost, as a same-run yardstick.
// Run as a child: `node dist/bench/reference.js --broker URL --db FILE --port N --prefix P`;
// it sends {kind:'ready'} over IPC once it listens and its MQTT connection is up.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { isMain, option, optionString } from './util.js';

export function runReference(broker: string, dbFile: string, port: number, prefix: string): void {
  const db = new Database(dbFile);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO events (seq, topic, payload) VALUES (?, ?, ?)');
  let seq = (db.prepare('SELECT MAX(seq) AS m FROM events').get() as { m: number | null }).m ?? 0;
  const client = mqtt.connect(broker, { clientId: `reference-${process.pid}`, protocolVersion: 5, clean: true });
  client.on('error', () => {});
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const device = url.searchParams.get('device') ?? 'panic-0';
    const active = url.searchParams.get('active') !== '0';
    req.resume();
    req.on('end', () => {
      const s = ++seq;
      const topic = `${prefix}/events/panic-button/${device}`;
      const payload = JSON.stringify({
        id: randomUUID(),
        seq: s,
        gateway: 'reference',
        site: 'bench-site',
        device,
        deviceType: 'panic-button',
        type: active ? 'panic.pressed' : 'panic.released',
        severity: active ? 'critical' : 'normal',
        ts: new Date().toISOString(),
        data: {},
      });
      insert.run(s, topic, payload); // autocommit: one FULL transaction
      // Rows are kept (a bench run adds a few thousand): a delete per PUBACK would be a second
      // fsync per message, more than the agent pays (it deletes in batches, unsynced).
      client.publish(topic, payload, { qos: 1 });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"seq":${s}}`);
    });
  });
  server.listen(port, '127.0.0.1');
  client.once('connect', () => {
    (client.stream as Socket).setNoDelay?.(true);
    process.send?.({ kind: 'ready' });
  });
  process.once('SIGTERM', () => {
    client.end(true);
    server.close();
    db.close();
    process.exit(0);
  });
}

if (isMain(import.meta.url)) {
  runReference(
    optionString('broker') as string,
    optionString('db') as string,
    option('port', 0),
    optionString('prefix') ?? 'reference',
  );
}
