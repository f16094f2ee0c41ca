// Legacy sysfs GPIO numbering (/sys/class/gpio) for the `onoff` backend. A sysfs number is
// global: the chip's `base` plus the line's offset. Raspberry Pi kernels ≥ 6.6 allocate bases from
// 512 (GPIO17 on the SoC is 529 there, not 17), so a hard-coded BCM number is wrong; always compute it.
//
// Matching a chip: /sys/class/gpio/gpiochipN is named by its BASE, not by the /dev/gpiochipN index
// the gpiod backend and the configuration use. Kernels with the character device expose that name
// as a `device/gpiochipX` subdirectory (the gpio_device under the parent), so a chip is found by
// (1) that character-device name, else (2) its `label` (e.g. "pinctrl-bcm2711"), else (3) on
// kernels where no chip shows a character-device name at all (< 4.8), the sysfs directory name.
// Where the kernel parents the sysfs chip on the gpio_device itself, `device` IS gpiochipX. One
// parent device may own several banks (several gpiochipX under it, one sysfs chip each): the
// banks are then paired in order — sysfs chips by base, character devices by number — as both are
// allocated in registration order; if the counts differ, no name is guessed (label matching only).
import { readdir, readFile, realpath } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { errorMessage, WardgateError } from '../../agent/errors.js';

export const DEFAULT_SYSFS_ROOT = '/sys/class/gpio';

export interface SysfsChip {
  /** Directory name under the sysfs root, e.g. "gpiochip512". */
  dir: string;
  base: number;
  ngpio: number;
  label: string;
  /** Character-device name, e.g. "gpiochip0", where the kernel exposes it. */
  cdev?: string;
}

const gpioError = (detail: string, cause?: unknown) => new WardgateError('WG_ERR_GPIO_LINE', detail, { cause });

async function readTrimmed(path: string): Promise<string> {
  return (await readFile(path, 'utf8')).trim();
}

/** The parent device's real path and the character-device names it shows (one per bank). */
async function cdevCandidates(chipDir: string): Promise<{ parent: string; names: string[] } | undefined> {
  let parent: string;
  try {
    parent = await realpath(join(chipDir, 'device'));
  } catch (err) {
    // No `device` link: a pre-character-device kernel, where matching falls back to the label.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (/^gpiochip\d+$/.test(basename(parent))) return { parent, names: [basename(parent)] };
  const names = (await readdir(parent)).filter((e) => /^gpiochip\d+$/.test(e));
  names.sort((x, y) => Number(x.slice(8)) - Number(y.slice(8)));
  return { parent, names };
}

/** Gives each sysfs chip its character-device name, pairing the banks of a shared parent in order. */
function assignCdevs(found: Array<{ chip: SysfsChip; cdevs?: { parent: string; names: string[] } }>): void {
  const byParent = new Map<string, typeof found>();
  for (const f of found) {
    if (!f.cdevs || f.cdevs.names.length === 0) continue;
    const group = byParent.get(f.cdevs.parent) ?? [];
    group.push(f);
    byParent.set(f.cdevs.parent, group);
  }
  for (const group of byParent.values()) {
    const names = group[0]?.cdevs?.names ?? [];
    if (names.length !== group.length) continue;
    group.sort((x, y) => x.chip.base - y.chip.base);
    group.forEach((f, i) => {
      const name = names[i];
      if (name) f.chip.cdev = name;
    });
  }
}

/** Reads every chip under the sysfs root. */
export async function listSysfsChips(root = DEFAULT_SYSFS_ROOT): Promise<SysfsChip[]> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch (err) {
    throw gpioError(`cannot read the sysfs GPIO directory ${root}: ${errorMessage(err)}`, err);
  }
  const found: Array<{ chip: SysfsChip; cdevs?: { parent: string; names: string[] } }> = [];
  for (const dir of entries.filter((e) => /^gpiochip\d+$/.test(e))) {
    const path = join(root, dir);
    try {
      const [base, ngpio, label, cdevs] = await Promise.all([
        readTrimmed(join(path, 'base')),
        readTrimmed(join(path, 'ngpio')),
        readTrimmed(join(path, 'label')),
        cdevCandidates(path),
      ]);
      found.push({ chip: { dir, base: Number(base), ngpio: Number(ngpio), label }, ...(cdevs ? { cdevs } : {}) });
    } catch (err) {
      throw gpioError(`cannot read sysfs chip ${path}: ${errorMessage(err)}`, err);
    }
  }
  assignCdevs(found);
  return found.map((f) => f.chip).sort((x, y) => x.base - y.base);
}

function describe(c: SysfsChip): string {
  return `${c.dir} (${c.cdev ? `${c.cdev}, ` : ''}label "${c.label}", base ${c.base}, ${c.ngpio} lines)`;
}

/** The chip a configured name means: character-device name, then label, then (legacy) sysfs directory. */
export function findSysfsChip(chips: readonly SysfsChip[], chip: string): SysfsChip {
  const found =
    chips.find((c) => c.cdev === chip) ??
    chips.find((c) => c.label === chip) ??
    (chips.every((c) => c.cdev === undefined) ? chips.find((c) => c.dir === chip) : undefined);
  if (found) return found;
  const seen = chips.length ? chips.map(describe).join('; ') : 'none';
  throw gpioError(`no GPIO chip "${chip}" in sysfs; chips found: ${seen}`);
}

/** The global sysfs number of `offset` on `chip`: base + offset. Pure, for tests and config checks. */
export function sysfsNumberIn(chips: readonly SysfsChip[], chip: string, offset: number): number {
  const c = findSysfsChip(chips, chip);
  if (!Number.isInteger(offset) || offset < 0 || offset >= c.ngpio) {
    throw gpioError(`offset ${offset} is out of range for ${describe(c)}: valid offsets are 0..${c.ngpio - 1}`);
  }
  return c.base + offset;
}

/** Reads the sysfs tree and computes the global number of chip + offset. */
export async function sysfsNumber(chip: string, offset: number, root = DEFAULT_SYSFS_ROOT): Promise<number> {
  return sysfsNumberIn(await listSysfsChips(root), chip, offset);
}
