// What the broker may send us, bounded (issue 7, item 9: a hostile broker pushing unsolicited
// QoS 2 messages took RSS from 80 to 404 MiB). The agent subscribes to nothing it does not need,
// so anything else that arrives is refused, never kept:
// - MQTT 5: `maximumPacketSize` and a small `receiveMaximum` in CONNECT (mqtt.js enforces both),
//   and unsolicited QoS 1/2 publishes answered with 0x87 (not authorized), which stores nothing.
// - Both versions: the QoS 2 store is bounded (3.1.1 has no way to refuse), and a frame scanner
//   on the socket drops the connection as soon as a packet's header announces more than the
//   limit, before the parser buffers it (mqtt.js checks the size only once the whole packet is in).
import type { Duplex } from 'node:stream';
import type { IStore } from 'mqtt';

type Packet = Parameters<IStore['put']>[0];
type PacketCallback = Parameters<IStore['get']>[1];
type DoneCallback = Parameters<IStore['put']>[1];

/** Commands are small signed envelopes (DESIGN §7); nothing legitimate comes near this. */
export const MAX_INBOUND_PACKET = 64 * 1024;
/** Inbound QoS 2 messages held between PUBREC and PUBREL (the agent uses QoS 1 itself). */
export const MAX_INBOUND_QOS2 = 16;
/** MQTT 5 reason code answered to a publish on a topic the agent did not subscribe to. */
export const NOT_AUTHORIZED = 0x87;

export interface InboundStats {
  /** Publishes on topics the agent never subscribed to. */
  unsolicited: number;
  /** QoS 2 messages dropped from the bounded store. */
  droppedQos2: number;
  /** Connections dropped for a packet over MAX_INBOUND_PACKET. */
  oversize: number;
}

/** mqtt.js's incoming store, with a bound: past `max` packets the oldest is forgotten. */
export class BoundedIncomingStore implements IStore {
  private readonly packets = new Map<number, Packet>();
  constructor(
    private readonly max: number,
    private readonly onDrop: () => void,
  ) {}

  get size(): number {
    return this.packets.size;
  }

  put(packet: Packet, cb: DoneCallback): this {
    const id = (packet as { messageId?: number }).messageId ?? 0;
    if (!this.packets.has(id) && this.packets.size >= this.max) {
      const oldest = this.packets.keys().next().value;
      if (oldest !== undefined) this.packets.delete(oldest);
      this.onDrop();
    }
    this.packets.set(id, packet);
    cb?.();
    return this;
  }

  get(packet: Pick<Packet, 'messageId'>, cb: PacketCallback): this {
    const p = this.packets.get(packet.messageId ?? 0);
    if (p) cb(undefined, p);
    else cb(new Error('missing packet'));
    return this;
  }

  del(packet: Pick<Packet, 'messageId'>, cb: PacketCallback): this {
    const p = this.packets.get(packet.messageId ?? 0);
    this.packets.delete(packet.messageId ?? 0);
    if (p) cb(undefined, p);
    else cb?.(new Error('missing packet'));
    return this;
  }

  createStream(): never {
    // Only used to resend a persistent session's outgoing packets; this store is incoming only.
    throw new Error('BoundedIncomingStore has no stream');
  }

  close(cb: DoneCallback): void {
    this.packets.clear();
    cb?.();
  }
}

/**
 * Follows MQTT's framing (a type byte, a 1–4 byte remaining length, the body) on the raw stream
 * and calls `tooLarge` as soon as a header announces a packet over `max` bytes. Skipping bodies
 * by arithmetic keeps this at a few operations per packet.
 */
export function watchFrameSizes(stream: Duplex, max: number, tooLarge: (bytes: number) => void): void {
  let state: 'type' | 'length' | 'body' = 'type';
  let length = 0;
  let multiplier = 1;
  let lengthBytes = 0;
  let remaining = 0;
  let tripped = false;
  stream.on('data', (chunk: Buffer) => {
    let i = 0;
    while (i < chunk.length && !tripped) {
      if (state === 'body') {
        const n = Math.min(remaining, chunk.length - i);
        remaining -= n;
        i += n;
        if (remaining === 0) state = 'type';
      } else if (state === 'type') {
        i++;
        state = 'length';
        length = 0;
        multiplier = 1;
        lengthBytes = 0;
      } else {
        const b = chunk[i++] as number;
        length += (b & 0x7f) * multiplier;
        multiplier *= 128;
        lengthBytes++;
        const more = (b & 0x80) !== 0;
        if (more && lengthBytes < 4) continue;
        const total = 1 + lengthBytes + length;
        if (more || total > max) {
          tripped = true;
          tooLarge(more ? Number.POSITIVE_INFINITY : total);
          return;
        }
        remaining = length;
        state = remaining > 0 ? 'body' : 'type';
      }
    }
  });
}
