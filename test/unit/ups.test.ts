// UPS model: NUT status transitions → exactly the right events, low-battery stop request, offline.
import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../agent/config/load.js';
import type { UpsConfig } from '../../agent/config/types.js';
import { UpsModel } from '../../agent/devices/ups.js';
import type { NutReadingValue } from '../../drivers/nut/driver.js';
import { testConfigDoc } from '../helpers/config.js';
import { fakeContext } from '../helpers/model-context.js';

const cfg = (over: Partial<UpsConfig['onLowBattery']> = {}): UpsConfig => ({
  id: 'ups-1',
  type: 'ups',
  nut: { host: '127.0.0.1', port: 3493, ups: 'dummy' },
  pollSec: 2,
  onLowBattery: { stop: true, ...over },
});

function setup(c = cfg()) {
  const f = fakeContext();
  const stops: string[] = [];
  const availability: Array<[boolean, string | undefined]> = [];
  const model = new UpsModel(c, {
    ...f.ctx,
    requestStop: async (r) => {
      stops.push(r);
    },
    setAvailability: (online, reason) => availability.push([online, reason]),
  });
  const feed = (value: NutReadingValue) =>
    model.onReading('ups', { point: 'ups-1', value, ts: Date.now(), uptimeMs: 0 });
  const status = (s: string, extra: Record<string, string> = {}) =>
    feed({
      kind: 'vars',
      vars: { 'ups.status': s, 'battery.charge': '80', 'battery.runtime': '1200', 'ups.load': '30', ...extra },
    });
  const error = (code = 'WG_ERR_NUT_CONNECT', nutCode?: string) =>
    feed({ kind: 'error', code, error: 'x', ...(nutCode ? { nutCode } : {}) });
  return { model, events: f.events, stops, availability, status, error };
}

describe('UPS model', () => {
  it('OL → OB → OB LB → OL: on_battery, low_battery (critical path: one stop request), on_mains', () => {
    const u = setup();
    u.status('OL CHRG');
    u.status('OL');
    expect(u.events).toEqual([]);
    u.status('OB DISCHRG');
    u.status('OB DISCHRG');
    u.status('OB LB', { 'battery.charge': '9', 'battery.runtime': '60' });
    u.status('OB LB');
    u.status('OL CHRG');
    expect(u.events.map((e) => e.type)).toEqual(['ups.on_battery', 'ups.low_battery', 'ups.on_mains']);
    expect(u.events[1]?.data).toMatchObject({ reason: 'LB', chargePercent: 9, runtimeSec: 60, status: 'OB LB' });
    expect(u.stops).toEqual(['ups-low-battery']);
    expect(u.model.state()).toMatchObject({ power: 'mains', lowBattery: false, nut: 'online', chargePercent: 80 });
  });

  it('runtime below runtimeSec on battery counts as low battery; stop: false only reports', () => {
    const u = setup(cfg({ runtimeSec: 300, stop: false }));
    u.status('OB', { 'battery.runtime': '600' });
    u.status('OB', { 'battery.runtime': '299' });
    expect(u.events.map((e) => e.type)).toEqual(['ups.on_battery', 'ups.low_battery']);
    expect(u.events[1]?.data).toMatchObject({ reason: 'runtime', runtimeSec: 299 });
    expect(u.stops).toEqual([]);
  });

  it('on battery at boot is news, mains at boot is not; WAIT is not a state', () => {
    const u = setup();
    u.status('WAIT');
    expect(u.events).toEqual([]);
    u.status('OB');
    expect(u.events.map((e) => e.type)).toEqual(['ups.on_battery']);
  });

  it('offline after two failed polls in a row (one is a blip), online once, with the code', () => {
    const u = setup();
    u.status('OL');
    u.error('WG_ERR_NUT_REPLY', 'DATA-STALE');
    u.status('OL');
    expect(u.events).toEqual([]);
    u.error('WG_ERR_NUT_REPLY', 'DRIVER-NOT-CONNECTED');
    u.error('WG_ERR_NUT_REPLY', 'DRIVER-NOT-CONNECTED');
    u.error('WG_ERR_NUT_CONNECT');
    u.status('OL');
    u.status('OL');
    expect(u.events.map((e) => e.type)).toEqual(['ups.offline', 'ups.online']);
    expect(u.events[0]?.data).toMatchObject({ code: 'WG_ERR_NUT_REPLY', nutCode: 'DRIVER-NOT-CONNECTED' });
    expect(u.availability).toEqual([
      [true, undefined],
      [false, 'DRIVER-NOT-CONNECTED'],
      [true, undefined],
    ]);
  });

  it('unreachable at boot is news at once', () => {
    const u = setup();
    u.error('WG_ERR_NUT_AUTH', 'ACCESS-DENIED');
    expect(u.events.map((e) => e.type)).toEqual(['ups.offline']);
    expect(u.model.state()).toMatchObject({ nut: 'offline', lastErrorCode: 'WG_ERR_NUT_AUTH' });
  });
});

describe('UPS config', () => {
  it('check-config: NUT username and password go together; a camera needs covers', () => {
    const doc = testConfigDoc({ brokers: ['mqtt://127.0.0.1:1'], buttons: 0 });
    doc.devices = [
      { id: 'ups-1', type: 'ups', nut: { ups: 'x', username: 'mon' } },
      { id: 'cam-1', type: 'camera', onvif: { host: '10.0.0.9' } },
    ];
    const r = checkConfig(doc);
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems.join('\n');
    expect(problems).toContain('devices[0].nut: username and password go together');
    expect(problems).toMatch(/devices\[1\].*covers/);
  });
});
