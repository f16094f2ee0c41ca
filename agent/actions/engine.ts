// Local actions: declarative rules (`actions:` in the config) that drive outputs when an event
// happens, on the box, with or without a network — a ward's sounder must not depend on the uplink.
// Rules were checked at load (agent/actions/validate.ts): every output, device and event type
// exists, and no two rules drive one output differently for the same trigger.
// At run time a rule fired by a device is a *reason* (claim `device|actions[i]`) holding the output
// away from its resting level, for its forSec, for one pulse, or until released (issue 14): it
// never cuts short another rule's reason. A rule that sets the resting level (`value: false` on a
// normally-off sounder) releases every reason the same device holds on that output.
import type { Logger } from 'pino';
import type { ActionRuleConfig } from '../config/types.js';

export const PULSE_MS_DEFAULT = 500;

/** Where an event came from and what it is: all a rule matches on. */
export interface ActionTrigger {
  type: string;
  device: string;
}

/** What the engine needs of the outputs (OutputBank): claims that never reject. */
export interface OutputClaims {
  claim(id: string, key: string, by: string): Promise<void>;
  release(id: string, which: (key: string) => boolean, by: string): Promise<void>;
  /** The output's resting level (`initial`); undefined for an unknown output. */
  resting(id: string): boolean | undefined;
}

export interface ActionEngineOptions {
  rules: ActionRuleConfig[];
  outputs: OutputClaims;
  /** `ack-led`: the device that sent the event is acknowledged (Agent.acknowledge). */
  acknowledge(deviceId: string, by: string): void;
  /** `door.unlock`: a device command (Agent.deviceCommand); rejections are logged, never thrown. */
  command?(deviceId: string, name: string, args: Record<string, unknown>): Promise<unknown>;
  log: Logger;
}

interface Indexed {
  index: number;
  rule: ActionRuleConfig;
  from: Set<string> | undefined;
}

export class ActionEngine {
  /** Rules by event type: the alarm path looks up one list, not every rule. */
  private readonly byType = new Map<string, Indexed[]>();
  /** Pending timers per output, per claim key (forSec ends, pulse trains). */
  private readonly timers = new Map<string, Map<string, Set<NodeJS.Timeout>>>();
  private stopped = false;
  fired = 0;

  constructor(private readonly opts: ActionEngineOptions) {
    opts.rules.forEach((rule, index) => {
      const list = this.byType.get(rule.on) ?? [];
      list.push({ index, rule, from: rule.from ? new Set(rule.from) : undefined });
      this.byType.set(rule.on, list);
    });
  }

  /** Synchronous and never throws: called on the alarm path before the event is durable. */
  onEvent(ev: ActionTrigger): void {
    if (this.stopped) return;
    for (const r of this.byType.get(ev.type) ?? []) {
      if (r.from && !r.from.has(ev.device)) continue;
      try {
        this.run(r, ev);
      } catch (err) {
        this.opts.log.error({ err, action: r.index, type: ev.type, device: ev.device }, 'local action failed');
      }
    }
  }

  private run({ index, rule }: Indexed, ev: ActionTrigger): void {
    const by = `actions[${index}] ${ev.type} from ${ev.device}`;
    this.fired++;
    this.opts.log.info({ action: index, do: rule.do, device: ev.device, type: ev.type }, 'local action');
    if (rule.do === 'ack-led') {
      this.opts.acknowledge(ev.device, by);
      return;
    }
    if (rule.do === 'door.unlock') {
      // Every door on its own: one offline controller must not keep the other fire exits locked.
      for (const door of rule.doors) {
        const args = { by, ...(rule.unlockSec !== undefined ? { forSec: rule.unlockSec } : {}) };
        const p = this.opts.command?.(door, 'unlock', args) ?? Promise.reject(new Error('no device commands'));
        p.catch((err) => this.opts.log.error({ err, action: index, door }, 'local door.unlock refused'));
      }
      return;
    }
    const out = this.opts.outputs;
    const output = rule.output;
    const key = `${ev.device}|actions[${index}]`;
    if (rule.do === 'set') {
      if ((rule.value ?? true) === out.resting(output)) {
        // Back to rest: everything this device holds on the output ends (its forSec, its chirps).
        const mine = (k: string) => k.startsWith(`${ev.device}|`);
        this.cancel(output, mine);
        void out.release(output, mine, by);
        return;
      }
      this.cancel(output, (k) => k === key);
      void out.claim(output, key, by);
      if (rule.forSec !== undefined) {
        const sec = rule.forSec;
        this.after(output, key, sec * 1000, () => out.release(output, (k) => k === key, `${by}, after ${sec} s`));
      }
      return;
    }
    // pulse: its own claim, on for pulseMs, off for gapMs, count times; another reason outlasts it.
    this.cancel(output, (k) => k === key);
    const on = rule.pulseMs ?? PULSE_MS_DEFAULT;
    const gap = rule.gapMs ?? on;
    const count = rule.count ?? 1;
    for (let k = 0; k < count; k++) {
      const start = k * (on + gap);
      const pulse = `${by}, pulse ${k + 1}/${count}`;
      if (k === 0) void out.claim(output, key, pulse);
      else this.after(output, key, start, () => out.claim(output, key, pulse));
      this.after(output, key, start + on, () => out.release(output, (x) => x === key, pulse));
    }
  }

  private after(output: string, key: string, ms: number, fn: () => Promise<void>): void {
    const perOutput = this.timers.get(output) ?? new Map<string, Set<NodeJS.Timeout>>();
    this.timers.set(output, perOutput);
    const set = perOutput.get(key) ?? new Set();
    perOutput.set(key, set);
    const t = setTimeout(() => {
      set.delete(t);
      if (set.size === 0) perOutput.delete(key);
      if (perOutput.size === 0) this.timers.delete(output);
      if (this.stopped) return;
      fn().catch((err) => this.opts.log.error({ err, output }, 'scheduled output change failed'));
    }, ms);
    set.add(t);
  }

  private cancel(output: string, which: (key: string) => boolean): void {
    const perOutput = this.timers.get(output);
    if (!perOutput) return;
    for (const [key, set] of perOutput) {
      if (!which(key)) continue;
      for (const t of set) clearTimeout(t);
      perOutput.delete(key);
    }
    if (perOutput.size === 0) this.timers.delete(output);
  }

  /** Pending timer count per output (for the page and the tests). */
  pending(): Record<string, number> {
    return Object.fromEntries(
      [...this.timers].map(([output, perOutput]) => [output, [...perOutput.values()].reduce((n, s) => n + s.size, 0)]),
    );
  }

  stop(): void {
    this.stopped = true;
    for (const output of [...this.timers.keys()]) this.cancel(output, () => true);
  }
}
