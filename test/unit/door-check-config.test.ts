// check-config on doors and buses (issue 8): every problem at once, each naming its path.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkConfig } from '../../agent/config/load.js';
import { loadProfiles } from '../../drivers/modbus/profiles.js';
import { CLI } from '../helpers/agent-process.js';
import { tempDir } from '../helpers/config.js';

// biome-ignore lint/suspicious/noExplicitAny: tests mutate arbitrary paths of a raw document
type Doc = Record<string, any>;

const base = (): Doc => ({
  gateway: { id: 'ward-test', site: 'test-site', dataDir: '/tmp/wardgate-door-check', clock: { sync: 'assume' } },
  mqtt: { brokers: ['mqtt://127.0.0.1:1'] },
  buses: [
    { id: 'rs485', type: 'modbus-rtu', path: '/dev/ttyUSB0' },
    { id: 'tcp', type: 'modbus-tcp', host: '10.0.0.5' },
  ],
  devices: [
    { id: 'pharmacy', type: 'door', bus: 'rs485', unitId: 1, profile: 'generic-door' },
    { id: 'ward-3', type: 'door', bus: 'tcp', unitId: 2, profile: 'moxa-iologik-e1212', door: 2 },
  ],
});

function problems(mutate: (d: Doc) => void): string[] {
  const d = base();
  mutate(d);
  const r = checkConfig(d);
  return r.ok ? [] : r.problems;
}

describe('check-config: doors and Modbus buses', () => {
  it('a valid file passes, with the schema defaults', () => {
    const r = checkConfig(base());
    if (!r.ok) throw new Error(r.problems.join('\n'));
    expect(r.config.buses?.[0]).toMatchObject({
      baudRate: 9600,
      parity: 'none',
      dataBits: 8,
      stopBits: 1,
      timeoutMs: 300,
    });
    expect(r.config.buses?.[1]).toMatchObject({ port: 502, timeoutMs: 500 });
    expect(r.config.devices[0]).toMatchObject({ pollMs: 250, heldOpenSec: 30, rexWindowSec: 5, unlockSec: 5 });
  });

  it('an unknown profile, naming the known ones', () => {
    expect(problems((d) => (d.devices[0].profile = 'acme-door'))).toEqual([
      'devices[0].profile: unknown profile "acme-door" (known: generic-door, moxa-iologik-e1210, moxa-iologik-e1212, waveshare-modbus-rtu-relay-d)',
    ]);
  });

  it('a door number the profile does not have', () => {
    expect(problems((d) => (d.devices[1].door = 3))).toEqual([
      'devices[1].profile: profile moxa-iologik-e1212 has 2 door(s); door 3 does not exist',
    ]);
  });

  it('a bus nobody uses, and a door on a bus that does not exist', () => {
    expect(problems((d) => (d.devices[1].bus = 'tcp2'))).toEqual([
      'devices[1].bus: no bus "tcp2" in buses',
      'buses[1]: bus tcp is used by no device',
    ]);
  });

  it('two devices that clash on one unit (same signals), but not two doors of one module', () => {
    expect(
      problems((d) => d.devices.push({ id: 'copy', type: 'door', bus: 'rs485', unitId: 1, profile: 'generic-door' })),
    ).toEqual([
      'devices[2]: open (rs485/1/di/0) is also read or driven by pharmacy: two devices clash on unit 1',
      'devices[2]: locked (rs485/1/di/1) is also read or driven by pharmacy: two devices clash on unit 1',
      'devices[2]: rex (rs485/1/di/2) is also read or driven by pharmacy: two devices clash on unit 1',
      'devices[2]: tamper (rs485/1/di/3) is also read or driven by pharmacy: two devices clash on unit 1',
      'devices[2]: release (rs485/1/coil/0) is also read or driven by pharmacy: two devices clash on unit 1',
    ]);
    expect(
      problems((d) =>
        d.devices.push({ id: 'ward-3b', type: 'door', bus: 'tcp', unitId: 2, profile: 'moxa-iologik-e1212', door: 1 }),
      ),
    ).toEqual([]);
  });

  it("an unlock longer than allowed: the door's own unlockSec and a local door.unlock rule", () => {
    expect(
      problems((d) => {
        d.devices[0].unlockSec = 60;
        d.devices.push({ id: 'fire', type: 'fire-panel', alarm: { line: 5 } });
        d.actions = [{ on: 'fire.alarm', do: 'door.unlock', doors: ['ward-3', 'fire'], unlockSec: 45 }];
      }),
    ).toEqual([
      'devices[0].unlockSec: 60 s is longer than its maxUnlockSec (30 s)',
      "actions[0].unlockSec: 45 s is longer than ward-3's maxUnlockSec (30 s)",
      'actions[0].doors: fire is not a door',
    ]);
  });

  it('an inline map is checked like a profile', () => {
    expect(
      problems((d) => {
        d.devices[0].profile = undefined;
        d.devices[0].map = { open: { table: 'di', address: 0 }, release: { table: 'di', address: 1 } };
      }),
    ).toEqual(['devices[0].map.release.table: an output must be coil or hr']);
  });

  it('every shipped profile loads without a problem', () => {
    const { profiles, problems: p } = loadProfiles();
    expect(p).toEqual([]);
    expect([...profiles.keys()].sort()).toEqual([
      'generic-door',
      'moxa-iologik-e1210',
      'moxa-iologik-e1212',
      'waveshare-modbus-rtu-relay-d',
    ]);
  });

  it('through the real CLI: exit 78 with every problem as `path: message`', () => {
    const d = base();
    d.devices[0].profile = 'acme-door';
    d.buses.push({ id: 'spare', type: 'modbus-tcp', host: '10.0.0.6' });
    const path = join(tempDir('wg-door-check-'), 'ward.yaml');
    writeFileSync(path, stringify(d));
    const r = spawnSync(process.execPath, [CLI, 'check-config', path], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(78);
    expect(r.stderr + r.stdout).toContain('devices[0].profile: unknown profile "acme-door"');
    expect(r.stderr + r.stdout).toContain('buses[2]: bus spare is used by no device');
  });
});
