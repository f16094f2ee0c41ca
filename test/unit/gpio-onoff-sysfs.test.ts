// The `onoff` backend's own behaviour beyond the shared contract (test/contract/gpio-backend.test.ts):
// sysfs numbering (chip bases, several banks under one parent) and onoff's watch faults, line reuse
// and periodic reads, against a fake sysfs tree and a fake onoff that behaves as onoff 6.0.3 does.
import { rm } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lineKey } from '../../drivers/gpio/backend.js';
import { OnoffBackend } from '../../drivers/gpio/onoff.js';
import { listSysfsChips, type SysfsChip, sysfsNumber, sysfsNumberIn } from '../../drivers/gpio/sysfs.js';
import { FakeOnoffWorld, makeLinkedSysfsTree, makeSysfsTree, PI4_CHIPS } from '../fixtures/gpio/harness.js';

describe('sysfs numbering', () => {
  const roots: string[] = [];
  const tree = async (chips: SysfsChip[]) => {
    const root = await makeSysfsTree(chips);
    roots.push(root);
    return root;
  };
  afterEach(async () => {
    for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
  });

  it('adds the chip base: GPIO17 is 512 + 17 = 529 on kernels ≥ 6.6', async () => {
    const root = await tree(PI4_CHIPS);
    expect(await listSysfsChips(root)).toEqual(PI4_CHIPS);
    expect(await sysfsNumber('gpiochip0', 17, root)).toBe(529);
    expect(await sysfsNumber('pinctrl-bcm2711', 17, root)).toBe(529);
    expect(await sysfsNumber('gpiochip1', 2, root)).toBe(572);
  });

  it('keeps base 0 numbering on legacy kernels, matching by label or sysfs name', async () => {
    const root = await tree([
      { dir: 'gpiochip100', base: 100, ngpio: 2, label: 'brcmvirt-gpio' },
      { dir: 'gpiochip0', base: 0, ngpio: 54, label: 'pinctrl-bcm2835' },
    ]);
    expect(await sysfsNumber('pinctrl-bcm2835', 17, root)).toBe(17);
    expect(await sysfsNumber('gpiochip0', 17, root)).toBe(17);
    expect(await sysfsNumber('gpiochip100', 1, root)).toBe(101);
  });

  it('tells apart the banks of one parent device by their order, and follows a device link to the chip itself', async () => {
    const root = await makeLinkedSysfsTree(
      {
        'platform/gpio@7e200000': ['gpiochip3', 'gpiochip2'],
        gpiochip0: [],
        'platform/i2c-1/0-0020': ['gpiochip5', 'gpiochip6'],
      },
      [
        { dir: 'gpiochip496', base: 496, ngpio: 16, label: 'bank-b', parent: 'platform/gpio@7e200000' },
        { dir: 'gpiochip480', base: 480, ngpio: 16, label: 'bank-a', parent: 'platform/gpio@7e200000' },
        { dir: 'gpiochip512', base: 512, ngpio: 58, label: 'pinctrl-bcm2711', parent: 'gpiochip0' },
        // Two banks under the parent but one sysfs chip: which is which is not guessed.
        { dir: 'gpiochip600', base: 600, ngpio: 8, label: 'mcp23017', parent: 'platform/i2c-1/0-0020' },
      ],
    );
    roots.push(root);
    expect((await listSysfsChips(root)).map((c) => [c.dir, c.cdev])).toEqual([
      ['gpiochip480', 'gpiochip2'],
      ['gpiochip496', 'gpiochip3'],
      ['gpiochip512', 'gpiochip0'],
      ['gpiochip600', undefined],
    ]);
    expect(await sysfsNumber('gpiochip2', 4, root)).toBe(484);
    expect(await sysfsNumber('gpiochip3', 4, root)).toBe(500);
    expect(await sysfsNumber('gpiochip0', 17, root)).toBe(529);
    expect(await sysfsNumber('mcp23017', 1, root)).toBe(601);
  });

  it('rejects an offset the chip does not have', () => {
    expect(() => sysfsNumberIn(PI4_CHIPS, 'gpiochip0', 58)).toThrow(/offset 58 is out of range .*0\.\.57/);
    expect(() => sysfsNumberIn(PI4_CHIPS, 'gpiochip1', -1)).toThrow(/offset -1 is out of range/);
  });

  it('lists the chips it found when the chip is unknown', async () => {
    // On a character-device kernel the sysfs directory name (base 512) is not the chip's name.
    expect(() => sysfsNumberIn(PI4_CHIPS, 'gpiochip512', 1)).toThrow(
      'no GPIO chip "gpiochip512" in sysfs; chips found: gpiochip512 (gpiochip0, label "pinctrl-bcm2711", ' +
        'base 512, 58 lines); gpiochip570 (gpiochip1, label "raspberrypi-exp-gpio", base 570, 8 lines)',
    );
    await expect(sysfsNumber('gpiochip0', 1, '/nonexistent/gpio')).rejects.toThrow(/cannot read the sysfs GPIO/);
  });
});

describe('OnoffBackend', () => {
  let root: string;
  let world: FakeOnoffWorld;
  let backend: OnoffBackend;
  beforeEach(async () => {
    root = await makeSysfsTree(PI4_CHIPS);
    world = new FakeOnoffWorld(1);
    backend = new OnoffBackend({ sysfsRoot: root, gpioFactory: world.factory });
  });
  afterEach(async () => {
    await backend.close();
    await rm(root, { recursive: true, force: true });
  });

  it('opens lines by sysfs number, knowing one line by its chip name and by its label', async () => {
    await backend.openInput({ chip: 'gpiochip0', line: 17 });
    await expect(backend.openInput({ chip: 'pinctrl-bcm2711', line: 17 })).rejects.toThrow(
      /\(sysfs 529\) is already in use as gpiochip0:17/,
    );
    await backend.openOutput({ chip: 'raspberrypi-exp-gpio', line: 2 }, 1);
    expect(world.all.map((g) => [g.n, g.direction, g.value])).toEqual([
      [529, 'in', 1],
      [572, 'high', 1],
    ]);
  });

  it('faults a line on a watch error and recovers it with the next value', async () => {
    const ref = { chip: 'gpiochip0', line: 17 };
    const seen: string[] = [];
    backend.on('edge', (e) => seen.push(`edge ${e.level}`));
    backend.on('fault', (r, err) => seen.push(`fault ${lineKey(r)}: ${err.message}`));
    backend.on('recovered', (r) => seen.push(`recovered ${lineKey(r)}`));
    backend.on('level', (r) => seen.push(`level ${r.level} ${r.cause}`));
    await backend.openInput(ref);
    world.gpio(529).fail(new Error('EIO: epoll failed'));
    world.gpio(529).fail(new Error('EIO: epoll failed'));
    world.gpio(529).fire(0);
    world.gpio(529).fire(1);
    expect(seen).toEqual([
      'fault gpiochip0:17: GPIO line error: watching gpiochip0:17 (sysfs 529) failed: EIO: epoll failed',
      'recovered gpiochip0:17',
      // Interrupts were lost meanwhile: the first value after is a level, not an edge.
      'level 0 recovered',
      'edge 1',
    ]);
  });

  it('refuses line names, and reports a line the kernel will not export', async () => {
    await expect(backend.openInput({ chip: 'gpiochip0', line: 'PANIC' })).rejects.toThrow(/sysfs has no line names/);
    world.claimed.add(516); // requested through the character device by another program
    await expect(backend.openInput({ chip: 'gpiochip0', line: 4 })).rejects.toThrow(
      /cannot open gpiochip0:4 as sysfs GPIO 516: EBUSY/,
    );
  });

  it('reuses a line left exported by an earlier run, as onoff 6.0.3 does', async () => {
    const crashed = new OnoffBackend({ sysfsRoot: root, gpioFactory: world.factory });
    await crashed.openInput({ chip: 'gpiochip0', line: 4 }); // never closed: still exported
    world.gpio(516).fire(0);
    const input = await backend.openInput({ chip: 'gpiochip0', line: 4 });
    expect(input.opened.level).toBe(0);
    expect(world.all.filter((g) => g.n === 516)).toHaveLength(2);
  });

  it('reads every input periodically and reports a level the interrupts missed', async () => {
    const levels: string[] = [];
    backend.on('level', (r) => levels.push(`${lineKey(r.ref)} ${r.level} ${r.cause}`));
    backend.on('edge', (e) => levels.push(`edge ${e.level}`));
    await backend.openInput({ chip: 'gpiochip0', line: 17 });
    await backend.openInput({ chip: 'gpiochip0', line: 18 });
    await backend.checkLevels();
    expect(levels).toEqual([]); // nothing changed: nothing said
    world.gpio(529).value = 0; // a press whose interrupt sysfs coalesced away
    await backend.checkLevels();
    await backend.checkLevels();
    expect(levels).toEqual(['gpiochip0:17 0 periodic']);
  });
});
