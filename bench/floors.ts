// Same-run floors: what the hardware, SQLite and the broker can do with no wardgate code in the
// way. Every benchmark compares itself with one of these, measured minutes apart on the same box.
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import mqtt, { type IClientPublishOptions, type MqttClient } from 'mqtt';
import { openOutboxDb } from '../agent/outbox/db.js';
import { benchLogger, wallNow } from './util.js';

/** A string of exactly `bytes` ASCII characters that looks like an event payload. */
export function payloadOfSize(bytes: number, seed = 0): string {
  const head = `{"id":"bench-${seed}","data":"`;
  const tail = '"}';
  return head + 'x'.repeat(Math.max(0, bytes - head.length - tail.length)) + tail;
}

/**
 * A database opened exactly as the outbox opens its own (WAL, synchronous=FULL, no automatic
 * checkpoint, same table and index), so the floor pays the same fsyncs per commit.
 */
export function floorDb(dir: string): Database.Database {
  return openOutboxDb(join(dir, 'floor.db'), benchLogger('error')).db;
}

function insertStmt(db: Database.Database) {
  return db.prepare(
    'INSERT INTO events (seq, lane, topic, payload, bytes, accepted_ms, unsynced) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
}

/** Rows/s of FULL transactions of `batch` rows of the given payloads, for about `durationMs`. */
export function sqliteBatchedInsertRate(
  dir: string,
  payloads: string[],
  batch: number,
  durationMs: number,
  reuse = false,
) {
  const db = floorDb(dir);
  try {
    if (!reuse) db.exec('DELETE FROM events');
    const insert = insertStmt(db);
    const topic = 'events/panic-button/panic-0';
    const first = (db.prepare('SELECT MAX(seq) AS m FROM events').get() as { m: number | null }).m ?? 0;
    let seq = first;
    const tx = db.transaction((rows: string[]) => {
      const now = Date.now();
      for (const p of rows) insert.run(++seq, 2, topic, p, Buffer.byteLength(p) + 64, now, 0);
    });
    const batches: string[][] = [];
    for (let i = 0; i < payloads.length; i += batch) batches.push(payloads.slice(i, i + batch));
    let commits = 0;
    const t0 = performance.now();
    let elapsed = 0;
    while (elapsed < durationMs) {
      tx(batches[commits % batches.length] as string[]);
      commits++;
      elapsed = performance.now() - t0;
    }
    const rows = seq - first;
    return { rows, commits, elapsedMs: elapsed, rowsPerSec: (rows / elapsed) * 1000 };
  } finally {
    db.close();
  }
}

export async function connectRaw(url: string, clientId: string): Promise<MqttClient> {
  const client = mqtt.connect(url, { clientId, protocolVersion: 5, clean: true, reconnectPeriod: 0 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  (client.stream as Socket).setNoDelay?.(true); // as the uplink does
  return client;
}

/** The publish options the drain uses for a lane (MQTT 5 user properties, expiry for telemetry). */
export function laneOpts(severity: string, seq: number, expirySec = 0): IClientPublishOptions {
  return {
    qos: 1,
    properties: {
      userProperties: { severity, seq: String(seq) },
      ...(expirySec > 0 ? { messageExpiryInterval: expirySec } : {}),
    },
  };
}

/** One FULL commit of one row per call, on a database kept open between blocks of samples. */
export class SqliteCommitProbe {
  private readonly db: Database.Database;
  private readonly one: (seq: number) => void;
  private seq = 0;

  constructor(dir: string, payloadBytes: number) {
    this.db = floorDb(dir);
    const insert = insertStmt(this.db);
    const payload = payloadOfSize(payloadBytes);
    const topic = 'events/panic-button/panic-0';
    this.one = this.db.transaction((seq: number) => {
      insert.run(seq, 0, topic, payload, payload.length + 64, Date.now(), 0);
    });
    this.sample(50); // warm the page cache
  }

  sample(n: number): number[] {
    const out: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      this.one(++this.seq);
      out.push(performance.now() - t0);
    }
    return out;
  }

  close(): void {
    this.db.close();
  }
}

/** Raw QoS1 publish → receive, one at a time, on connections kept open between blocks. */
export class MqttRttProbe {
  private waiter: ((t: number) => void) | undefined;
  private i = 0;
  private readonly topic = 'wardgate/v1/floor-gw/events/panic-button/panic-0';

  private constructor(
    private readonly pub: MqttClient,
    private readonly sub: MqttClient,
    private readonly payload: Buffer,
  ) {
    sub.on('message', () => {
      const t = performance.now();
      this.waiter?.(t);
    });
  }

  static async open(url: string, payloadBytes: number): Promise<MqttRttProbe> {
    const pub = await connectRaw(url, `floor-pub-${process.pid}`);
    const sub = await connectRaw(url, `floor-sub-${process.pid}`);
    const probe = new MqttRttProbe(pub, sub, Buffer.from(payloadOfSize(payloadBytes)));
    await sub.subscribeAsync(probe.topic, { qos: 1 });
    await probe.sample(50);
    return probe;
  }

  async sample(n: number): Promise<number[]> {
    const out: number[] = [];
    for (let k = 0; k < n; k++) {
      const got = new Promise<number>((resolve) => {
        this.waiter = resolve;
      });
      const t0 = performance.now();
      this.pub.publish(this.topic, this.payload, laneOpts('critical', ++this.i));
      out.push((await got) - t0);
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([this.pub.endAsync(true), this.sub.endAsync(true)]);
  }
}

/**
 * Raw QoS1 publishing of `n` messages with at most `window` unacknowledged, the way the drain
 * does it but with nothing else: returns the wall time of the connect and of the last PUBACK.
 */
export async function mqttWindowedPublish(
  url: string,
  n: number,
  window: number,
  message: (i: number) => { topic: string; payload: string; opts: IClientPublishOptions },
): Promise<{ connectedAt: number; lastAckAt: number }> {
  const client = mqtt.connect(url, {
    clientId: `floor-drain-${process.pid}`,
    protocolVersion: 5,
    clean: true,
    reconnectPeriod: 50,
  });
  client.on('error', () => {}); // connection refused until the broker starts
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  const connectedAt = wallNow();
  (client.stream as Socket).setNoDelay?.(true);
  let next = 0;
  let acked = 0;
  let lastAckAt = connectedAt;
  await new Promise<void>((resolve, reject) => {
    const send = () => {
      const i = next++;
      const m = message(i);
      client.publish(m.topic, m.payload, m.opts, (err) => {
        if (err) return reject(err);
        acked++;
        if (next < n) send();
        else if (acked === n) {
          lastAckAt = wallNow();
          resolve();
        }
      });
    };
    for (let k = 0; k < Math.min(window, n); k++) send();
  });
  await client.endAsync(false);
  return { connectedAt, lastAckAt };
}
