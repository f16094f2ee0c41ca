// Config checks for GPIO devices, outputs and local actions (issue 3): every bad input is one
// clear `path: message` line, and the shipped ward example passes.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { outputAndActionWarnings } from '../../agent/actions/validate.js';
import { checkConfig, loadConfig } from '../../agent/config/load.js';
import { shippedFile } from '../../agent/paths.js';
import { CLI } from '../helpers/agent-process.js';
import { tempDir } from '../helpers/config.js';

type Doc = Record<string, unknown> & { devices: Array<Record<string, unknown>> };

/** A valid config: two panic buttons (one with a LED), a fire panel, a door contact, two outputs. */
function base(): Doc {
  return {
    gateway: { id: 'ward-1', site: 'st-marys' },
    mqtt: { brokers: ['mqtt://127.0.0.1:1883'] },
    gpio: { backend: 'gpiod' },
    devices: [
      { id: 'panic-1', type: 'panic-button', input: { line: 4 }, led: { output: 'led-1' } },
      { id: 'panic-2', type: 'panic-button', input: { line: 5 } },
      { id: 'fire-1', type: 'fire-panel', alarm: { line: 22 }, fault: { line: 23 } },
      { id: 'door-1', type: 'input', input: { line: 24 }, active: { event: 'door.opened' } },
    ],
    outputs: [
      { id: 'sounder-1', line: 12 },
      { id: 'led-1', line: 16 },
    ],
    actions: [{ on: 'panic.pressed', do: 'set', output: 'sounder-1', forSec: 30 }],
  };
}

const problems = (edit: (d: Doc) => void): string[] => {
  const doc = base();
  edit(doc);
  const r = checkConfig(doc);
  return r.ok ? [] : r.problems;
};
const dev = (d: Doc, i: number) => d.devices[i] as Record<string, Record<string, unknown>>;
const outs = (d: Doc) => d.outputs as Array<Record<string, unknown>>;
const acts = (d: Doc) => d.actions as Array<Record<string, unknown>>;

describe('GPIO, output and action config checks', () => {
  it('the base config is valid, with defaults applied', () => {
    const r = checkConfig(base());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.outputs).toEqual([
      { id: 'sounder-1', line: 12, activeLow: false, initial: false, safeState: 'off' },
      { id: 'led-1', line: 16, activeLow: false, initial: false, safeState: 'off' },
    ]);
    expect(r.config.devices[2]).toEqual({
      id: 'fire-1',
      type: 'fire-panel',
      alarm: { line: 22, activeLow: true },
      fault: { line: 23, activeLow: true },
      debounceMs: 50,
      minHoldMs: 0,
      chatterEdgesPerMinute: 20,
      chatterQuietSec: 60,
      chatterHoldSec: 10,
    });
    expect(r.config.devices[3]).toMatchObject({
      active: { event: 'door.opened' },
      inactive: { event: 'input.inactive' },
    });
    expect(r.config.devices[0]).toMatchObject({ led: { output: 'led-1', offAfterSec: 120 } });
  });

  it.each<[string, (d: Doc) => void, string]>([
    // Unknown chip or line format
    [
      'a chip that is no chip',
      (d) => (dev(d, 0).input = { chip: 'gpio chip 0', line: 4 }),
      'devices[0].input.chip: "gpio chip 0" is not a GPIO chip (gpiochipN, N, /dev/gpiochipN or the chip\'s label)',
    ],
    [
      'a device path that is not a GPIO chip',
      (d) => (outs(d)[0] = { id: 'sounder-1', chip: '/dev/ttyS0', line: 12 }),
      'outputs[0].chip: "/dev/ttyS0" is not a GPIO chip (gpiochipN, N, /dev/gpiochipN or the chip\'s label)',
    ],
    [
      'gpio.chip misspelt',
      (d) => (d.gpio = { chip: 'gpiochipA' }),
      'gpio.chip: "gpiochipA" is not a GPIO chip (gpiochipN, N, /dev/gpiochipN or the chip\'s label)',
    ],
    [
      'an offset written as a string',
      (d) => (dev(d, 1).input = { line: '5' }),
      'devices[1].input.line: write the offset as a number (5), not a string: a string is a line name',
    ],
    [
      'a line name with spaces',
      (d) => (dev(d, 2).fault = { line: 'FIRE FAULT' }),
      'devices[2].fault.line: "FIRE FAULT" is not a line offset or a line name (letters, digits, _ . : / -)',
    ],
    [
      'a line name on sysfs',
      (d) => {
        d.gpio = { backend: 'onoff' };
        dev(d, 1).input = { line: 'PANIC_2' };
      },
      "devices[1].input.line: the onoff backend (sysfs) has no line names; give the line's offset",
    ],
    // A line configured twice
    [
      'input vs input on one device',
      (d) => (dev(d, 0).tamper = { line: 4 }),
      'devices[0].tamper.line: GPIO line gpiochip0:4 is already used by devices[0].input',
    ],
    [
      'input vs input across devices, chip spelt two ways',
      (d) => (dev(d, 3).input = { chip: '/dev/gpiochip0', line: 22 }),
      'devices[3].input.line: GPIO line gpiochip0:22 is already used by devices[2].alarm',
    ],
    [
      'input vs output',
      (d) => (outs(d)[0] = { id: 'sounder-1', chip: '0', line: 23 }),
      'outputs[0].line: GPIO line gpiochip0:23 is already used by devices[2].fault',
    ],
    [
      'output vs output',
      (d) => (outs(d)[1] = { id: 'led-1', line: 12 }),
      'outputs[1].line: GPIO line gpiochip0:12 is already used by outputs[0]',
    ],
    // Outputs and LEDs
    [
      'two outputs with one id',
      (d) => outs(d).push({ id: 'sounder-1', line: 30 }),
      'outputs[2].id: duplicate output id "sounder-1" (also outputs[0])',
    ],
    [
      'an output named like a device',
      (d) => outs(d).push({ id: 'door-1', line: 30 }),
      'outputs[2].id: "door-1" is already a device id (devices[3])',
    ],
    [
      'a LED that is no output',
      (d) => (dev(d, 1).led = { output: 'led-2' }),
      'devices[1].led.output: unknown output "led-2" (outputs: sounder-1, led-1)',
    ],
    [
      'one LED for two buttons',
      (d) => (dev(d, 1).led = { output: 'led-1' }),
      'devices[1].led.output: "led-1" is already the LED of devices[0]',
    ],
    // Generic input event types
    [
      'an input event not in the catalogue',
      (d) => (dev(d, 3).active = { event: 'door.opend' }),
      'devices[3].active.event: unknown event type "door.opend"',
    ],
    [
      'an input posing as the gateway',
      (d) => (dev(d, 3).inactive = { event: 'gateway.started' }),
      'devices[3].inactive.event: "gateway.started" is made by the gateway itself, not by an input',
    ],
    // Action rules
    [
      'an unknown output',
      (d) => (acts(d)[0] = { on: 'panic.pressed', do: 'set', output: 'sounder-9' }),
      'actions[0].output: unknown output "sounder-9" (outputs: sounder-1, led-1)',
    ],
    [
      'an unknown device in from',
      (d) => (acts(d)[0] = { on: 'panic.pressed', from: ['panic-1', 'panic-9'], do: 'set', output: 'sounder-1' }),
      'actions[0].from[1]: unknown device "panic-9"',
    ],
    [
      'an unknown event type',
      (d) => (acts(d)[0] = { on: 'panic.presed', do: 'set', output: 'sounder-1' }),
      'actions[0].on: unknown event type "panic.presed"',
    ],
    [
      'a device that never sends the event',
      (d) => (acts(d)[0] = { on: 'fire.alarm', from: ['panic-2'], do: 'set', output: 'sounder-1' }),
      'actions[0].from[0]: device "panic-2" (panic-button) never emits fire.alarm',
    ],
    [
      'an event nothing configured sends',
      (d) => (acts(d)[0] = { on: 'panic.tamper', do: 'set', output: 'sounder-1' }),
      'actions[0].on: no configured device emits panic.tamper',
    ],
    [
      'set without an output',
      (d) => (acts(d)[0] = { on: 'panic.pressed', do: 'set' }),
      'actions[0].output: is required for do: set',
    ],
    [
      'a pulse option on set',
      (d) => (acts(d)[0] = { on: 'panic.pressed', do: 'set', output: 'sounder-1', count: 3 }),
      'actions[0].count: only for do: pulse',
    ],
    [
      'a rule driving a LED',
      (d) => (acts(d)[0] = { on: 'panic.pressed', do: 'set', output: 'led-1' }),
      'actions[0].output: "led-1" is the LED of devices[0] (driven by acknowledge); use do: ack-led',
    ],
    [
      'ack-led for a button without LED',
      (d) => (acts(d)[0] = { on: 'panic.pressed', from: ['panic-2'], do: 'ack-led' }),
      'actions[0].from[0]: device "panic-2" has no led to light (ack-led needs a panic-button with led)',
    ],
    [
      'ack-led on an event no LED button sends',
      (d) => (acts(d)[0] = { on: 'fire.alarm', do: 'ack-led' }),
      'actions[0].do: ack-led on fire.alarm: no panic-button with a led emits it',
    ],
    // An output used by two rules in conflicting ways
    [
      'set and pulse on one output for one trigger',
      (d) => acts(d).push({ on: 'panic.pressed', from: ['panic-2'], do: 'pulse', output: 'sounder-1', count: 3 }),
      'actions[1].output: conflicts with actions[0]: both drive "sounder-1" on panic.pressed from panic-2 (set on for 30 s vs pulse 3×500 ms)',
    ],
    [
      'two rules setting different values',
      (d) => acts(d).push({ on: 'panic.pressed', do: 'set', output: 'sounder-1', value: false }),
      'actions[1].output: conflicts with actions[0]: both drive "sounder-1" on panic.pressed from any device (set on for 30 s vs set off)',
    ],
    [
      'a duplicate rule',
      (d) => acts(d).push({ on: 'panic.pressed', from: ['panic-1'], do: 'set', output: 'sounder-1', forSec: 30 }),
      'actions[1].output: duplicates actions[0] ("sounder-1" on panic.pressed from panic-1)',
    ],
  ])('%s', (_name, edit, expected) => {
    expect(problems(edit)).toEqual([expected]);
  });

  it('rules on one output for different triggers, or disjoint devices, are not conflicts', () => {
    expect(
      problems((d) => {
        acts(d)[0] = { on: 'panic.pressed', from: ['panic-1'], do: 'set', output: 'sounder-1', forSec: 30 };
        acts(d).push(
          { on: 'panic.pressed', from: ['panic-2'], do: 'pulse', output: 'sounder-1', count: 2 },
          { on: 'panic.released', do: 'set', output: 'sounder-1', value: false },
          { on: 'fire.alarm', do: 'pulse', output: 'sounder-1', pulseMs: 1000, count: 5 },
          { on: 'panic.pressed', from: ['panic-1'], do: 'ack-led' },
        );
      }),
    ).toEqual([]);
  });

  it('rules holding one output on different events are a warning, not an error', () => {
    const doc = base();
    dev(doc, 1).tamper = { line: 17 };
    acts(doc).push(
      { on: 'panic.tamper', do: 'pulse', output: 'sounder-1', pulseMs: 200, count: 2 },
      { on: 'panic.released', do: 'set', output: 'sounder-1', value: false, forSec: 5 },
    );
    expect(checkConfig(doc).ok).toBe(true);
    expect(outputAndActionWarnings(doc)).toEqual([
      'actions[2].forSec: has no effect: value false is "sounder-1"\'s resting level',
      'outputs: "sounder-1" is held by rules on different events: actions[0] (panic.pressed), actions[1] (panic.tamper); it stays on while any of them holds it, and a rule back to rest releases only the holds of the device that sent its event',
    ]);
    // Holding and releasing one output (on/off pairs) is the normal case: nothing to say.
    expect(outputAndActionWarnings(base())).toEqual([]);
    // The real CLI says it and still accepts the file.
    const dir = tempDir('wg-config-gpio-');
    const file = join(dir, 'warn.yaml');
    writeFileSync(file, stringify(doc));
    const r = spawnSync(process.execPath, [CLI, 'check-config', file], { encoding: 'utf8', timeout: 20_000 });
    rmSync(dir, { recursive: true, force: true });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('warning: outputs: "sounder-1" is held by rules on different events');
  });

  it('reports every problem at once', () => {
    const found = problems((d) => {
      dev(d, 0).tamper = { line: 4 };
      acts(d)[0] = { on: 'panic.presed', do: 'set', output: 'nope' };
    });
    expect(found).toEqual([
      'devices[0].tamper.line: GPIO line gpiochip0:4 is already used by devices[0].input',
      'actions[0].on: unknown event type "panic.presed"',
      'actions[0].output: unknown output "nope" (outputs: sounder-1, led-1)',
    ]);
  });

  it('config/ward.example.yaml is a valid config', () => {
    const cfg = loadConfig(shippedFile('config', 'ward.example.yaml'));
    expect(cfg.devices.map((d) => `${d.type}:${d.id}`)).toEqual([
      'panic-button:panic-ed-triage-1',
      'panic-button:panic-ed-triage-2',
      'panic-button:panic-ed-reception',
      'fire-panel:fire-panel-ae',
      'input:door-server-room',
      'input:leak-server-room',
    ]);
    expect(cfg.outputs?.map((o) => o.id)).toEqual([
      'sounder-ae',
      'strobe-ae',
      'led-ed-triage-1',
      'led-ed-triage-2',
      'led-ed-reception',
    ]);
    expect(cfg.actions).toHaveLength(6);
    // The panic sounder is held by panic.pressed and chirped by panic.tamper: said, not refused.
    expect(outputAndActionWarnings(cfg as unknown as Record<string, unknown>)).toEqual([
      expect.stringContaining(
        '"sounder-ae" is held by rules on different events: actions[0] (panic.pressed), actions[5] (panic.tamper)',
      ),
    ]);
  });
});
