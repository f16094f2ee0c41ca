// Reading a file an installer named, without trusting it to be small: a config or a secret path
// may point at /dev/zero, a FIFO or a log by mistake. Never more than `limit` + 1 bytes are read.
import { readSync } from 'node:fs';

/** The file's text, or undefined when it holds more than `limit` bytes. */
export function readAtMost(fd: number, limit: number): string | undefined {
  const buf = Buffer.allocUnsafe(limit + 1);
  let length = 0;
  for (;;) {
    const n = readSync(fd, buf, length, buf.length - length, null);
    if (n === 0) return buf.toString('utf8', 0, length);
    length += n;
    if (length > limit) return undefined;
  }
}
