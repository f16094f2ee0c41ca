// What a broker may push at the agent is bounded (issue 7, item 9): the frame scanner trips on a
// header that announces an oversize packet before its body arrives, and the QoS 2 store keeps at
// most its bound whatever is pushed.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BoundedIncomingStore, watchFrameSizes } from '../../agent/uplink/inbound-guard.js';

/** An MQTT packet: type byte, remaining length (varint), body. */
function frame(type: number, body: Buffer): Buffer {
  const len: number[] = [];
  let n = body.length;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    len.push(b);
  } while (n > 0);
  return Buffer.concat([Buffer.from([type, ...len]), body]);
}

function scan(chunks: Buffer[], max: number): number[] {
  const s = new PassThrough();
  const tripped: number[] = [];
  watchFrameSizes(s, max, (bytes) => tripped.push(bytes));
  for (const c of chunks) s.write(c);
  return tripped;
}

describe('watchFrameSizes', () => {
  it('follows packets split anywhere and never trips on packets within the limit', () => {
    const stream = Buffer.concat([
      frame(0x20, Buffer.from([0, 0, 0])), // CONNACK
      frame(0x40, Buffer.from([0, 1, 0, 0])), // PUBACK
      frame(0x30, Buffer.alloc(200, 1)), // a 2-byte length
      frame(0xd0, Buffer.alloc(0)), // PINGRESP, empty body
      frame(0x30, Buffer.alloc(1000 - 3, 2)), // exactly 1000 bytes in all
    ]);
    for (const size of [1, 2, 3, 7, 64, stream.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
      expect(scan(chunks, 1000)).toEqual([]);
    }
  });

  it('trips on the header of an oversize packet, before its body is sent', () => {
    const header = frame(0x34, Buffer.alloc(0)).subarray(0, 1); // type byte only
    const tenMiB = 10 * 1024 * 1024;
    // Remaining length of 10 MiB: 4 varint bytes, no body yet.
    const len = [(tenMiB % 128) | 0x80, ((tenMiB >> 7) % 128) | 0x80, ((tenMiB >> 14) % 128) | 0x80, tenMiB >> 21];
    const ok = frame(0x40, Buffer.from([0, 1]));
    expect(scan([ok, header, Buffer.from(len)], 64 * 1024)).toEqual([1 + 4 + tenMiB]);
  });

  it('trips on a malformed length (a fifth continuation byte)', () => {
    expect(scan([Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])], 1 << 20)).toEqual([Number.POSITIVE_INFINITY]);
  });
});

describe('BoundedIncomingStore', () => {
  it('keeps at most its bound of QoS 2 messages, forgetting the oldest', () => {
    let dropped = 0;
    const store = new BoundedIncomingStore(16, () => dropped++);
    for (let id = 1; id <= 10_000; id++) {
      store.put(
        { cmd: 'publish', messageId: id, qos: 2, dup: false, retain: false, topic: 't', payload: 'x' },
        () => {},
      );
    }
    expect(store.size).toBe(16);
    expect(dropped).toBe(10_000 - 16);
    let got: unknown;
    store.get({ messageId: 10_000 }, (_err, p) => {
      got = p;
    });
    expect(got).toMatchObject({ messageId: 10_000 });
    let missing: Error | undefined;
    store.get({ messageId: 1 }, (err) => {
      missing = err;
    });
    expect(missing?.message).toBe('missing packet');
  });
});
