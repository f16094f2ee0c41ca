// UUIDv7 (RFC 9562): 48-bit unix ms, version, then random. Time-ordered, unique forever; the
// counter in rand_a keeps ids monotonic within one millisecond of this process.
import { randomFillSync } from 'node:crypto';

let lastMs = 0;
let counter = 0;

// Random bytes drawn in blocks: one getrandom call per 512 ids instead of one per id.
const POOL = Buffer.alloc(16 * 512);
let poolOffset = POOL.length;

function random10(): Buffer {
  if (poolOffset + 10 > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const b = POOL.subarray(poolOffset, poolOffset + 10);
  poolOffset += 10;
  return b;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function uuidv7(nowMs = Date.now()): string {
  const r = random10();
  if (nowMs <= lastMs) {
    counter = (counter + 1) & 0xfff;
    // Counter wrapped within one ms (4096 ids): borrow the next ms rather than repeat an order.
    if (counter === 0) lastMs += 1;
    nowMs = lastMs;
  } else {
    lastMs = nowMs;
    counter = ((r[0] ?? 0) << 3) & 0x7ff; // random start, leaves room to count up
  }
  const hi = Math.floor(nowMs / 0x10000);
  const lo = nowMs & 0xffff;
  const h = (n: number) => HEX[n & 0xff] as string;
  return (
    h(hi >>> 24) +
    h(hi >>> 16) +
    h(hi >>> 8) +
    h(hi) +
    '-' +
    h(lo >>> 8) +
    h(lo) +
    '-' +
    h(0x70 | (counter >> 8)) +
    h(counter) +
    '-' +
    h(0x80 | ((r[1] ?? 0) & 0x3f)) +
    h(r[2] ?? 0) +
    '-' +
    h(r[3] ?? 0) +
    h(r[4] ?? 0) +
    h(r[5] ?? 0) +
    h(r[6] ?? 0) +
    h(r[7] ?? 0) +
    h(r[8] ?? 0)
  );
}
