// No exception in an uplink event handler becomes an uncaught exception (issue 7, item 6: EMFILE
// thrown by process.memoryUsage.rss() in the connect handler killed the agent). A listener that
// throws is logged with its code and the next listener still runs.
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../agent/log.js';
import { useCleanups } from '../helpers/cleanup.js';
import { waitFor } from '../helpers/ports.js';
import { RawBroker } from '../helpers/raw-broker.js';
import { testUplink } from '../helpers/uplink.js';

const cleanup = useCleanups();
const uncaught: unknown[] = [];
const onUncaught = (err: unknown) => uncaught.push(err);
process.on('uncaughtException', onUncaught);
afterEach(() => {
  process.off('uncaughtException', onUncaught);
});

describe('uplink error boundaries', () => {
  it('a throwing connect or disconnect listener is logged with WG_ERR_UPLINK_HANDLER; the others still run', async () => {
    const broker = await new RawBroker().start();
    cleanup(() => broker.stop());
    const lines: Array<{ level: number; code?: string; handler?: string; msg: string }> = [];
    const uplink = testUplink(
      broker.url,
      'boundary',
      createLogger('info', { write: (s: string) => lines.push(JSON.parse(s)) }),
    );
    cleanup(() => uplink.stop());
    const ran: string[] = [];
    const emfile = () => {
      throw Object.assign(new Error('EMFILE: too many open files, uv_resident_set_memory'), { code: 'EMFILE' });
    };
    uplink.on('connect', emfile);
    uplink.on('connect', () => ran.push('connect'));
    uplink.on('disconnect', emfile);
    uplink.on('disconnect', () => ran.push('disconnect'));
    uplink.start();
    await waitFor(() => ran.includes('connect'), 10_000, 'second connect listener');
    broker.connections.at(-1)?.socket.destroy(); // the broker drops the connection
    await waitFor(() => ran.filter((r) => r === 'connect').length === 2, 10_000, 'reconnected');
    expect(ran.slice(0, 3)).toEqual(['connect', 'disconnect', 'connect']);
    const failures = lines.filter((l) => l.code === 'WG_ERR_UPLINK_HANDLER');
    expect(failures.map((l) => l.handler)).toEqual(['connect', 'disconnect', 'connect']);
    expect(failures.every((l) => l.level === 50)).toBe(true);
    expect(uncaught).toEqual([]);
  });
});
