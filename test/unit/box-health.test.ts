// Box health: the Pi firmware word decoded, each condition raised once and cleared once, and a box
// without a temperature sensor or firmware word says "unknown" rather than failing.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { GatewayHealth } from '../../agent/devices/gateway-health.js';
import type { EventType } from '../../agent/event.js';
import type { BoxSources } from '../../drivers/system/probe.js';
import { decodeThrottled, parseThrottled, readThrottled } from '../../drivers/system/throttled.js';

function fakeSources(over: Partial<BoxSources> = {}) {
  const s = { temp: null as number | null, freePct: 50, throttled: undefined as number | undefined };
  const sources: BoxSources = {
    temperature: async () => s.temp,
    memory: async () => ({ total: 1000, available: 500 }),
    statfs: async () => ({ bsize: 4096, blocks: 1000, bavail: Math.round(s.freePct * 10) }),
    throttled: async () => s.throttled,
    ...over,
  };
  return { s, sources };
}

function setup(over: Partial<BoxSources> = {}) {
  const { s, sources } = fakeSources(over);
  const events: Array<{ type: EventType; data: Record<string, unknown> }> = [];
  const h = new GatewayHealth({
    config: { intervalSec: 30, diskLowPercent: 10, tempHighC: 80 },
    diskPath: '/data',
    emit: (ev) => events.push(ev),
    log: pino({ level: 'silent' }),
    sources,
  });
  return { s, h, events, types: () => events.map((e) => e.type) };
}

describe('Pi firmware throttled word', () => {
  it('parses vcgencmd and sysfs forms and decodes now / since-boot bits', () => {
    expect(parseThrottled('throttled=0x50005\n')).toBe(0x50005);
    expect(parseThrottled('50005\n')).toBe(0x50005);
    expect(parseThrottled('garbage!')).toBeUndefined();
    expect(decodeThrottled(0x50005)).toEqual({
      raw: '0x50005',
      underVoltage: true,
      freqCapped: false,
      throttled: true,
      softTempLimit: false,
      underVoltageOccurred: true,
      freqCappedOccurred: false,
      throttledOccurred: true,
      softTempLimitOccurred: false,
    });
  });

  it('is undefined (not an error) on a box without the sysfs node or vcgencmd, like this VM', async () => {
    expect(await readThrottled('/nonexistent/get_throttled', '/nonexistent/vcgencmd')).toBeUndefined();
  });
});

describe('box health conditions', () => {
  it('no temperature sensor, no firmware word: "unknown", no event, no probe error', async () => {
    const b = setup();
    await b.h.sample();
    expect(b.events).toEqual([]);
    expect(b.h.snapshot()).toMatchObject({
      cpuTempC: 'unknown',
      firmware: 'unknown',
      disk: { freePercent: 50, low: false },
    });
    expect(b.h.snapshot()).not.toHaveProperty('probeErrors');
  });

  it('a failing probe is reported with WG_ERR_HEALTH_PROBE and its value unknown; the others still work', async () => {
    const b = setup({ temperature: () => Promise.reject(new Error('EIO reading the sensor')) });
    await b.h.sample();
    expect(b.h.snapshot()).toMatchObject({
      cpuTempC: 'unknown',
      probeErrors: { code: 'WG_ERR_HEALTH_PROBE', temperature: 'EIO reading the sensor' },
    });
    expect(b.h.snapshot()).toMatchObject({ disk: { freePercent: 50 } });
  });

  it('temperature, under-voltage and throttling: raised once, cleared once, with decoded flags', async () => {
    const b = setup();
    b.s.temp = 85;
    b.s.throttled = 0x50005;
    await b.h.sample();
    await b.h.sample();
    b.s.temp = 78; // under the threshold but within the 5 °C margin: still hot
    b.s.throttled = 0x50000; // since boot only
    await b.h.sample();
    b.s.temp = 60;
    await b.h.sample();
    expect(b.types()).toEqual([
      'gateway.temperature_high',
      'gateway.undervoltage',
      'gateway.throttled',
      'gateway.undervoltage_cleared',
      'gateway.throttled_cleared',
      'gateway.temperature_high_cleared',
    ]);
    expect(b.events[1]?.data).toMatchObject({ flags: { underVoltage: true, throttled: true, raw: '0x50005' } });
    expect(b.h.snapshot()).toMatchObject({ firmware: { underVoltageOccurred: true, underVoltage: false } });
  });

  it('disk low below the threshold with source "health", cleared one percent above it', async () => {
    const b = setup();
    b.s.freePct = 9;
    await b.h.sample();
    b.s.freePct = 10.5;
    await b.h.sample();
    b.s.freePct = 11.5;
    await b.h.sample();
    expect(b.types()).toEqual(['gateway.disk_low', 'gateway.disk_low_cleared']);
    expect(b.events[0]?.data).toMatchObject({ source: 'health', freePercent: 9, thresholdPercent: 10, path: '/data' });
  });
});
