// UUIDv7 (RFC 9562): 48-bit unix ms, version, then random. Time-ordered, unique forever; the
// counter in rand_a keeps ids monotonic within one millisecond of this process.
import { randomBytes } from 'node:crypto';

let lastMs = 0;
let counter = 0;

export function uuidv7(nowMs = Date.now()): string {
  if (nowMs <= lastMs) {
    counter = (counter + 1) & 0xfff;
    // Counter wrapped within one ms (4096 ids): borrow the next ms rather than repeat an order.
    if (counter === 0) lastMs += 1;
    nowMs = lastMs;
  } else {
    lastMs = nowMs;
    counter = randomBytes(2).readUInt16BE(0) & 0x7ff; // random start, leaves room to count up
  }
  const b = randomBytes(16);
  b.writeUIntBE(nowMs, 0, 6);
  b[6] = 0x70 | (counter >> 8);
  b[7] = counter & 0xff;
  b[8] = 0x80 | ((b[8] ?? 0) & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
