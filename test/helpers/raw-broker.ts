// A TCP server speaking just enough MQTT (3.1.1 and 5) to play a broker that misbehaves on
// purpose: one that never acknowledges, one that acknowledges late, one that pushes what nobody
// subscribed to. Real sockets, hand-made packets; the test decides every answer.
import { createServer, type Server, type Socket } from 'node:net';

export interface RawPublish {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  messageId: number;
}

export interface RawConnect {
  protocolVersion: number;
  clientId: string;
  /** MQTT 5 CONNECT properties by id (numbers only: 0x27 maximum packet size, 0x21 receive maximum…). */
  properties: Map<number, number>;
}

export function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function packet(type: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, ...varint(body.length)]), body]);
}

function u16(n: number): Buffer {
  return Buffer.from([n >> 8, n & 0xff]);
}

function str(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([u16(b.length), b]);
}

/** Reads a varint at `i`; returns [value, next index]. */
function readVarint(b: Buffer, i: number): [number, number] {
  let value = 0;
  let mult = 1;
  for (;;) {
    const byte = b[i++] as number;
    value += (byte & 0x7f) * mult;
    mult *= 128;
    if ((byte & 0x80) === 0) return [value, i];
  }
}

/** MQTT 5 property value sizes for the ids a client may send in CONNECT (numbers only). */
const PROP_BYTES: Record<number, number> = { 17: 4, 23: 1, 25: 1, 33: 2, 34: 2, 39: 4 };

export class RawConnection {
  connect: RawConnect | undefined;
  readonly publishes: RawPublish[] = [];
  /** PUBREC/PUBACK reason codes the client answered, by message id. */
  readonly acks = new Map<number, number>();
  closed = false;
  private buf = Buffer.alloc(0);

  constructor(
    readonly socket: Socket,
    private readonly broker: RawBroker,
  ) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
  }

  get v5(): boolean {
    return this.connect?.protocolVersion === 5;
  }

  write(b: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(b);
  }

  connack(): void {
    this.write(this.v5 ? packet(0x20, Buffer.from([0, 0, 0])) : packet(0x20, Buffer.from([0, 0])));
  }

  puback(messageId: number): void {
    this.write(
      this.v5 ? packet(0x40, Buffer.concat([u16(messageId), Buffer.from([0, 0])])) : packet(0x40, u16(messageId)),
    );
  }

  /** A PUBLISH from the "broker" to the client. */
  push(topic: string, payload: Buffer, qos: 0 | 1 | 2, messageId: number): void {
    const parts = [str(topic), ...(qos > 0 ? [u16(messageId)] : []), ...(this.v5 ? [Buffer.from([0])] : []), payload];
    this.write(packet(0x30 | (qos << 1), Buffer.concat(parts)));
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      if (this.buf.length < 2) return;
      const [len, start] = readVarint(this.buf, 1);
      if (this.buf.length < start + len) return;
      const type = (this.buf[0] as number) >> 4;
      const flags = (this.buf[0] as number) & 0x0f;
      const body = this.buf.subarray(start, start + len);
      this.buf = this.buf.subarray(start + len);
      this.handle(type, flags, body);
    }
  }

  private handle(type: number, flags: number, body: Buffer): void {
    if (type === 1) {
      const nameLen = body.readUInt16BE(0);
      let i = 2 + nameLen;
      const protocolVersion = body[i] as number;
      i += 4; // level, flags, keepalive
      const properties = new Map<number, number>();
      if (protocolVersion === 5) {
        const [plen, p0] = readVarint(body, i);
        let p = p0;
        while (p < p0 + plen) {
          const id = body[p++] as number;
          const size = PROP_BYTES[id] ?? 0;
          properties.set(
            id,
            size === 4 ? body.readUInt32BE(p) : size === 2 ? body.readUInt16BE(p) : (body[p] as number),
          );
          p += size;
        }
        i = p0 + plen;
      }
      const clientId = body.subarray(i + 2, i + 2 + body.readUInt16BE(i)).toString();
      this.connect = { protocolVersion, clientId, properties };
      this.broker.onConnect(this);
    } else if (type === 3) {
      const qos = (flags >> 1) & 3;
      const tlen = body.readUInt16BE(0);
      let i = 2 + tlen;
      const topic = body.subarray(2, i).toString();
      let messageId = 0;
      if (qos > 0) {
        messageId = body.readUInt16BE(i);
        i += 2;
      }
      if (this.v5) {
        const [plen, p0] = readVarint(body, i);
        i = p0 + plen;
      }
      const pub = { topic, payload: Buffer.from(body.subarray(i)), qos, retain: (flags & 1) === 1, messageId };
      this.publishes.push(pub);
      this.broker.onPublish(this, pub);
    } else if (type === 4 || type === 5) {
      // PUBACK / PUBREC from the client: message id, then (MQTT 5) a reason code if not success.
      this.acks.set(body.readUInt16BE(0), body.length > 2 ? (body[2] as number) : 0);
    } else if (type === 12) {
      this.write(Buffer.from([0xd0, 0])); // PINGRESP: keep the connection alive
    }
  }
}

export interface RawBrokerHooks {
  /** Default: CONNACK. */
  onConnect?: (c: RawConnection) => void;
  /** Default: never acknowledge. */
  onPublish?: (c: RawConnection, p: RawPublish) => void;
}

export class RawBroker {
  private server: Server | undefined;
  readonly connections: RawConnection[] = [];
  port = 0;

  constructor(private readonly hooks: RawBrokerHooks = {}) {}

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  onConnect(c: RawConnection): void {
    (this.hooks.onConnect ?? ((x: RawConnection) => x.connack()))(c);
  }

  onPublish(c: RawConnection, p: RawPublish): void {
    this.hooks.onPublish?.(c, p);
  }

  get publishes(): RawPublish[] {
    return this.connections.flatMap((c) => c.publishes);
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((s) => {
      this.connections.push(new RawConnection(s, this));
    });
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', () => resolve()));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this;
  }

  async stop(): Promise<void> {
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
