// The health payload is built in the uplink's connect handler: it must never throw. Out of file
// descriptors, `process.memoryUsage.rss()` throws EMFILE (it opens /proc/self/stat): the last
// value read is published instead; a status that cannot be built becomes an error field.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../agent/log.js';
import type { Agent } from '../../agent/runtime.js';
import { healthPayload, residentMemory } from '../../agent/status.js';

const emfile = () =>
  Object.assign(new Error('EMFILE: too many open files, uv_resident_set_memory'), { code: 'EMFILE', errno: -24 });

afterEach(() => {
  vi.restoreAllMocks();
});

describe('health payload', () => {
  it('publishes the last RSS read when reading it fails with EMFILE', () => {
    const before = residentMemory();
    expect(before).toBeGreaterThan(0);
    vi.spyOn(process.memoryUsage, 'rss').mockImplementation(() => {
      throw emfile();
    });
    expect(residentMemory()).toBe(before);
  });

  it('returns an error field instead of throwing when the status cannot be built', () => {
    residentMemory(); // one good read to fall back on
    vi.spyOn(process.memoryUsage, 'rss').mockImplementation(() => {
      throw emfile();
    });
    const broken = {
      config: { gateway: { id: 'gw-1', site: 's' } },
      log: createLogger('silent'),
      get uplink(): never {
        throw new Error('uplink not there');
      },
    } as unknown as Agent;
    const payload = healthPayload(broken);
    expect(payload).toMatchObject({
      gateway: 'gw-1',
      error: { code: 'WG_ERR_INTERNAL', message: 'uplink not there' },
    });
    expect(payload.memoryRss).toBeGreaterThan(0);
  });
});
