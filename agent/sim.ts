// Simulated inputs (demo, tests, the page's buttons): drive a `sim` GPIO line as the outside world
// would, and report which events that change made durable, so an HTTP 2xx means "on disk".

import type { GpioBackend } from '../drivers/gpio/backend.js';
import { SimGpioBackend } from '../drivers/gpio/sim.js';
import type { DriverKind } from './devices/kinds.js';
import type { DeviceRegistry } from './devices/registry.js';
import { WardgateError } from './errors.js';
import type { WgEvent } from './event.js';

const DURABLE_TIMEOUT_MS = 5000;
/** How long past its settle time a sim change may wait for the model to decide (a loaded loop). */
const SETTLE_MAX_EXTRA_MS = 2000;

export class SimInjector {
  /** Requests waiting for the events their input change makes, per device. */
  private readonly collectors = new Map<string, Set<Array<Promise<WgEvent>>>>();

  constructor(
    private readonly devices: DeviceRegistry,
    private readonly backend: () => GpioBackend | undefined,
    /** Kinds with a sim of their own (the demo's Modbus doors) drive inputs that are not GPIO lines. */
    private readonly kinds: readonly DriverKind[] = [],
  ) {}

  /** Called for every event a device model makes. */
  observe(deviceId: string, accepted: Promise<WgEvent>): void {
    for (const c of this.collectors.get(deviceId) ?? []) c.push(accepted);
  }

  async inject(deviceId: string, input: string, active: boolean): Promise<{ accepted: WgEvent[]; pending: boolean }> {
    const entry = this.devices.devices.get(deviceId);
    const wiring = this.devices.wiring(deviceId, input);
    if (!entry) throw new WardgateError('WG_ERR_HTTP_NOT_FOUND', `no input ${input} on device ${deviceId}`);
    let drive: () => Promise<unknown>;
    if (wiring) {
      const backend = this.backend();
      if (!(backend instanceof SimGpioBackend)) throw new WardgateError('WG_ERR_SIM_NOT_SIMULATED', deviceId);
      const level: 0 | 1 = wiring.activeLow ? (active ? 0 : 1) : active ? 1 : 0;
      drive = async () => backend.set(wiring.ref, level);
    } else {
      const inputs = this.devices.snapshot(entry).inputs ?? [];
      if (!inputs.includes(input))
        throw new WardgateError('WG_ERR_HTTP_NOT_FOUND', `no input ${input} on device ${deviceId}`);
      const kinds = this.kinds.filter((k) => k.simulate);
      drive = async () => {
        for (const k of kinds) if (await k.simulate?.(deviceId, input, active)) return;
        throw new WardgateError('WG_ERR_SIM_NOT_SIMULATED', deviceId);
      };
    }
    const collected: Array<Promise<WgEvent>> = [];
    const set = this.collectors.get(deviceId) ?? new Set();
    this.collectors.set(deviceId, set);
    set.add(collected);
    try {
      await drive();
      // Debounce and minimum hold decide later: wait for them, so a 2xx means "made durable".
      const settleMs = entry.model.settleMs?.() ?? 0;
      if (collected.length === 0 && settleMs > 0) {
        await new Promise((r) => setTimeout(r, settleMs + 25));
        // On a late loop the change may still wait (an edge read late waits for the rest of its
        // burst): wait for the model's decision, up to a bound, rather than answer 202 early.
        const until = Date.now() + SETTLE_MAX_EXTRA_MS;
        while (collected.length === 0 && entry.model.settling?.() && Date.now() < until)
          await new Promise((r) => setTimeout(r, 5));
        // Models decide in the check phase (agent/devices/deadline.ts): on a loaded loop their
        // timer and this one fall due together, so let that phase run before collecting.
        await new Promise((r) => setImmediate(r));
      }
    } finally {
      set.delete(collected);
    }
    // A disk that refuses writes holds events in memory: say so rather than hang the request.
    let timer: NodeJS.Timeout | undefined;
    const notDurable = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new WardgateError('WG_ERR_OUTBOX_DISK_FULL', 'the event is held in memory, not yet on disk')),
        DURABLE_TIMEOUT_MS,
      );
    });
    try {
      const accepted = await Promise.race([Promise.all(collected), notDurable]);
      return { accepted, pending: accepted.length === 0 };
    } finally {
      clearTimeout(timer);
    }
  }
}
