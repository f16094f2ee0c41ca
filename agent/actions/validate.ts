// Config checks across outputs, device LEDs, generic-input event types and action rules: what a
// JSON Schema cannot say. Each problem is `path: message`, and every one is reported at once.
// Tolerant of a document that failed the schema (fields may be missing or of the wrong type).
import { eventsEmittedBy, GATEWAY_ONLY } from '../devices/emits.js';
import { CATALOGUE } from '../event.js';
import { PULSE_MS_DEFAULT } from './engine.js';

type Loose = Record<string, unknown>;
const obj = (v: unknown): Loose | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Loose) : undefined;
const list = (v: unknown): Loose[] => (Array.isArray(v) ? v.map((x) => obj(x) ?? {}) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const isCatalogued = (t: string): boolean => Object.hasOwn(CATALOGUE, t);

const ONLY_FOR: Record<string, string[]> = {
  set: ['value', 'forSec'],
  pulse: ['pulseMs', 'gapMs', 'count'],
};

export function outputAndActionProblems(root: Loose): string[] {
  const problems: string[] = [];
  const devices = list(root.devices);
  const outputs = list(root.outputs);
  const gatewayId = str(obj(root.gateway)?.id);
  const deviceIdx = new Map<string, number>();
  devices.forEach((d, i) => {
    const id = str(d.id);
    if (id !== undefined && !deviceIdx.has(id)) deviceIdx.set(id, i);
  });

  // Outputs share the `state/{id}` namespace with devices, so an id names one thing only.
  const outputIdx = new Map<string, number>();
  outputs.forEach((o, i) => {
    const id = str(o.id);
    if (id === undefined) return;
    const first = outputIdx.get(id);
    if (first !== undefined) problems.push(`outputs[${i}].id: duplicate output id "${id}" (also outputs[${first}])`);
    else outputIdx.set(id, i);
    const dev = deviceIdx.get(id);
    if (dev !== undefined) problems.push(`outputs[${i}].id: "${id}" is already a device id (devices[${dev}])`);
    if (id === gatewayId) problems.push(`outputs[${i}].id: "${id}" is the gateway id`);
  });
  const known = `(outputs: ${[...outputIdx.keys()].join(', ') || 'none configured'})`;

  // A LED belongs to its panic button: acknowledge drives it, so nothing else may.
  const ledOwner = new Map<string, number>();
  devices.forEach((d, i) => {
    const out = str(obj(d.led)?.output);
    if (out === undefined) return;
    if (!outputIdx.has(out)) problems.push(`devices[${i}].led.output: unknown output "${out}" ${known}`);
    const first = ledOwner.get(out);
    if (first !== undefined)
      problems.push(`devices[${i}].led.output: "${out}" is already the LED of devices[${first}]`);
    else ledOwner.set(out, i);
  });

  devices.forEach((d, i) => {
    if (d.type !== 'input') return;
    for (const dir of ['active', 'inactive']) {
      const ev = str(obj(d[dir])?.event);
      if (ev === undefined) continue;
      if (!isCatalogued(ev)) problems.push(`devices[${i}].${dir}.event: unknown event type "${ev}"`);
      else if (GATEWAY_ONLY.test(ev) || ev.startsWith('device.'))
        problems.push(`devices[${i}].${dir}.event: "${ev}" is made by the gateway itself, not by an input`);
    }
  });

  const rules = list(root.actions);
  const drives: Array<{ i: number; output: string; on: string; from: string[] | undefined; effect: string }> = [];
  rules.forEach((r, i) => {
    const at = `actions[${i}]`;
    const on = str(r.on);
    const act = str(r.do);
    const from = Array.isArray(r.from) ? r.from.filter((x): x is string => typeof x === 'string') : undefined;
    const onValid = on !== undefined && isCatalogued(on);
    if (on !== undefined && !onValid) problems.push(`${at}.on: unknown event type "${on}"`);
    for (const [owner, keys] of Object.entries(ONLY_FOR))
      for (const k of keys) if (k in r && act !== owner) problems.push(`${at}.${k}: only for do: ${owner}`);
    if (act === 'ack-led' && 'output' in r)
      problems.push(`${at}.output: not used by do: ack-led (it lights the LED of the device that sent the event)`);

    // `from` names devices (or the gateway, for gateway.* events) that can send this event.
    from?.forEach((id, k) => {
      const di = deviceIdx.get(id);
      if (di === undefined) {
        if (id !== gatewayId) problems.push(`${at}.from[${k}]: unknown device "${id}"`);
        return;
      }
      const d = devices[di] ?? {};
      const emits = eventsEmittedBy(d);
      if (onValid && emits && !emits.includes(on))
        problems.push(`${at}.from[${k}]: device "${id}" (${String(d.type)}) never emits ${on}`);
      if (act === 'ack-led' && !(d.type === 'panic-button' && obj(d.led)))
        problems.push(`${at}.from[${k}]: device "${id}" has no led to light (ack-led needs a panic-button with led)`);
    });
    if (onValid && !from && !GATEWAY_ONLY.test(on)) {
      const emitters = devices.filter((d) => eventsEmittedBy(d)?.includes(on));
      if (emitters.length === 0) problems.push(`${at}.on: no configured device emits ${on}`);
      else if (act === 'ack-led' && !emitters.some((d) => d.type === 'panic-button' && obj(d.led)))
        problems.push(`${at}.do: ack-led on ${on}: no panic-button with a led emits it`);
    }

    if (act !== 'set' && act !== 'pulse') return;
    const output = str(r.output);
    if (output === undefined) {
      if (!('output' in r)) problems.push(`${at}.output: is required for do: ${act}`);
      return;
    }
    if (!outputIdx.has(output)) problems.push(`${at}.output: unknown output "${output}" ${known}`);
    const led = ledOwner.get(output);
    if (led !== undefined)
      problems.push(`${at}.output: "${output}" is the LED of devices[${led}] (driven by acknowledge); use do: ack-led`);
    if (on !== undefined) drives.push({ i, output, on, from, effect: effectOf(r, act) });
  });

  // One trigger, one meaning per output: two rules that would fire together on one output fight.
  drives.forEach((b, j) => {
    for (const a of drives.slice(0, j)) {
      if (a.output !== b.output || a.on !== b.on) continue;
      const both = a.from && b.from ? a.from.filter((x) => b.from?.includes(x)) : (a.from ?? b.from);
      if (both && both.length === 0) continue;
      const who = both ? `from ${both.join(', ')}` : 'from any device';
      problems.push(
        a.effect === b.effect
          ? `actions[${b.i}].output: duplicates actions[${a.i}] ("${b.output}" on ${b.on} ${who})`
          : `actions[${b.i}].output: conflicts with actions[${a.i}]: both drive "${b.output}" on ${b.on} ${who} (${a.effect} vs ${b.effect})`,
      );
    }
  });
  return problems;
}

function effectOf(r: Loose, act: 'set' | 'pulse'): string {
  if (act === 'set') {
    const on = r.value !== false;
    return `set ${on ? 'on' : 'off'}${typeof r.forSec === 'number' ? ` for ${r.forSec} s` : ''}`;
  }
  const ms = typeof r.pulseMs === 'number' ? r.pulseMs : PULSE_MS_DEFAULT;
  const gap = typeof r.gapMs === 'number' && r.gapMs !== ms ? ` (gap ${r.gapMs} ms)` : '';
  return `pulse ${typeof r.count === 'number' ? r.count : 1}×${ms} ms${gap}`;
}

/**
 * What is legal but worth a look (issue 14): rules that hold one output for different events. They
 * no longer fight — the output stays on while any of them holds it — but a technician should know
 * that a `value: false` rule then silences only the holds of the device that sent its event.
 */
export function outputAndActionWarnings(root: Loose): string[] {
  const warnings: string[] = [];
  const initial = new Map<string, boolean>();
  for (const o of list(root.outputs)) {
    const id = str(o.id);
    if (id !== undefined) initial.set(id, o.initial === true);
  }
  const holders = new Map<string, Array<{ i: number; on: string }>>();
  list(root.actions).forEach((r, i) => {
    const output = str(r.output);
    const on = str(r.on);
    if (output === undefined || on === undefined) return;
    const rest = initial.get(output) ?? false;
    const holds = r.do === 'pulse' || (r.do === 'set' && (r.value ?? true) !== rest);
    if (r.do === 'set' && !holds && typeof r.forSec === 'number')
      warnings.push(
        `actions[${i}].forSec: has no effect: value ${String(r.value ?? true)} is "${output}"'s resting level`,
      );
    if (!holds) return;
    const l = holders.get(output) ?? [];
    l.push({ i, on });
    holders.set(output, l);
  });
  for (const [output, l] of holders) {
    const events = [...new Set(l.map((h) => h.on))];
    if (events.length < 2) continue;
    const rules = l.map((h) => `actions[${h.i}] (${h.on})`).join(', ');
    warnings.push(
      `outputs: "${output}" is held by rules on different events: ${rules}; it stays on while any of them holds it, and a rule back to rest releases only the holds of the device that sent its event`,
    );
  }
  return warnings;
}
