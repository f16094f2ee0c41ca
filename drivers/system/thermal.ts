// The SoC temperature as Linux exposes it: /sys/class/thermal/thermal_zone*/temp, in millidegrees
// Celsius (the Raspberry Pi's `cpu-thermal` zone, an x86 box's `x86_pkg_temp`). A few file reads,
// where systeminformation's cpuTemperature may fork `sensors`: on a box that has a zone,
// systeminformation is never loaded (probe.ts falls back to it only where there is none).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Zone types that are the CPU/SoC's own sensor, best first; other zones (battery, wifi) are not. */
const CPU_ZONES = [/^cpu/i, /^soc/i, /^x86_pkg_temp$/, /^acpitz$/];

/**
 * °C of the CPU/SoC zone (by type, else the first zone with a reading), or undefined when `root`
 * has no thermal zone at all (the caller may ask another source). A zone whose reading is not a
 * number (a sensor that failed) is skipped.
 */
export async function readThermalZones(root = '/sys/class/thermal'): Promise<number | undefined> {
  let names: string[];
  try {
    names = (await readdir(root)).filter((n) => n.startsWith('thermal_zone')).sort();
  } catch {
    return undefined;
  }
  const zones: Array<{ type: string; celsius: number }> = [];
  for (const name of names) {
    const read = (f: string) =>
      readFile(join(root, name, f), 'utf8').then(
        (s) => s.trim(),
        () => '',
      );
    const [type, raw] = await Promise.all([read('type'), read('temp')]);
    const milli = Number(raw);
    if (raw !== '' && Number.isFinite(milli)) zones.push({ type, celsius: milli / 1000 });
  }
  for (const re of CPU_ZONES) {
    const z = zones.find((x) => re.test(x.type));
    if (z) return z.celsius;
  }
  return zones[0]?.celsius;
}
