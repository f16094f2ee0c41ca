// The SoC temperature from a sysfs tree laid out as Linux does (/sys/class/thermal/thermal_zoneN/
// {type,temp}, millidegrees): the CPU zone by its type, a failed sensor skipped, no zone undefined.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readThermalZones } from '../../drivers/system/thermal.js';
import { tempDir } from '../helpers/config.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function sysfs(zones: Array<{ type: string; temp?: string }>): string {
  const root = tempDir('wg-thermal-');
  dirs.push(root);
  zones.forEach((z, i) => {
    const d = join(root, `thermal_zone${i}`);
    mkdirSync(d);
    writeFileSync(join(d, 'type'), `${z.type}\n`);
    if (z.temp !== undefined) writeFileSync(join(d, 'temp'), `${z.temp}\n`);
  });
  mkdirSync(join(root, 'cooling_device0')); // not a zone
  return root;
}

describe('readThermalZones', () => {
  it("reads a Raspberry Pi's cpu-thermal zone in °C", async () => {
    expect(await readThermalZones(sysfs([{ type: 'cpu-thermal', temp: '48312' }]))).toBe(48.312);
  });

  it('prefers the CPU zone over others listed before it', async () => {
    const root = sysfs([
      { type: 'iwlwifi_1', temp: '39000' },
      { type: 'acpitz', temp: '27800' },
      { type: 'x86_pkg_temp', temp: '61000' },
    ]);
    expect(await readThermalZones(root)).toBe(61);
  });

  it('skips a zone whose sensor fails, and takes the first readable one when none is the CPU', async () => {
    const root = sysfs([
      { type: 'cpu-thermal', temp: 'garbage' },
      { type: 'cpu-thermal' },
      { type: 'board', temp: '35500' },
    ]);
    expect(await readThermalZones(root)).toBe(35.5);
  });

  it('says undefined when there is no zone, or no thermal class at all (the caller asks elsewhere)', async () => {
    expect(await readThermalZones(sysfs([]))).toBeUndefined();
    expect(await readThermalZones('/nonexistent/thermal')).toBeUndefined();
  });
});
