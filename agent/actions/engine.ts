// Local actions: declarative rules (`actions:` in the config) that drive outputs when an event
// happens, on the box, with or without a network — a ward's sounder must not depend on the uplink.
// Rules were checked at load (agent/actions/validate.ts): every output, device and event type
// exists, and no two rules drive one output differently for the same trigger. At run time the
// latest action on an output wins: it cancels whatever timers an earlier one left on it.
import type { Logger } from 'pino';
import type { ActionRuleConfig } from '../config/types.js';

export const PULSE_MS_DEFAULT = 500;

/** Where an event came from and what it is: all a rule matches on. */
export interface ActionTrigger {
  type: string;
  device: string;
}

export interface ActionEngineOptions {
  rules: ActionRuleConfig[];
  /** Queue a write to an output (OutputBank.set: never rejects). */
  setOutput(id: string, active: boolean, by: string): Promise<void>;
  /** `ack-led`: the device that sent the event is acknowledged (Agent.acknowledge). */
  acknowledge(deviceId: string, by: string): void;
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
  /** Pending timers per output (forSec returns, pulse trains). */
  private readonly timers = new Map<string, Set<NodeJS.Timeout>>();
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
    switch (rule.do) {
      case 'set': {
        this.cancel(rule.output);
        const value = rule.value ?? true;
        void this.opts.setOutput(rule.output, value, by);
        if (rule.forSec !== undefined) {
          const sec = rule.forSec;
          this.after(rule.output, sec * 1000, () => this.opts.setOutput(rule.output, !value, `${by}, after ${sec} s`));
        }
        return;
      }
      case 'pulse': {
        this.cancel(rule.output);
        const on = rule.pulseMs ?? PULSE_MS_DEFAULT;
        const gap = rule.gapMs ?? on;
        const count = rule.count ?? 1;
        // The whole train is scheduled up front, so a later action cancels all of it at once.
        for (let k = 0; k < count; k++) {
          const start = k * (on + gap);
          const pulse = `${by}, pulse ${k + 1}/${count}`;
          if (k === 0) void this.opts.setOutput(rule.output, true, pulse);
          else this.after(rule.output, start, () => this.opts.setOutput(rule.output, true, pulse));
          this.after(rule.output, start + on, () => this.opts.setOutput(rule.output, false, pulse));
        }
        return;
      }
      case 'ack-led':
        this.opts.acknowledge(ev.device, by);
        return;
    }
  }

  private after(output: string, ms: number, fn: () => Promise<void>): void {
    const set = this.timers.get(output) ?? new Set();
    this.timers.set(output, set);
    const t = setTimeout(() => {
      set.delete(t);
      if (this.stopped) return;
      fn().catch((err) => this.opts.log.error({ err, output }, 'scheduled output change failed'));
    }, ms);
    set.add(t);
  }

  private cancel(output: string): void {
    for (const t of this.timers.get(output) ?? []) clearTimeout(t);
    this.timers.delete(output);
  }

  /** Pending timer count per output (for the page and the tests). */
  pending(): Record<string, number> {
    return Object.fromEntries([...this.timers].map(([k, v]) => [k, v.size]));
  }

  stop(): void {
    this.stopped = true;
    for (const output of [...this.timers.keys()]) this.cancel(output);
  }
}
