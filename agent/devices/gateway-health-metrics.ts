// /metrics for the box's own health: read from the last timer sample at scrape time (never a probe
// per scrape). A value the platform does not have is left out, not exported as 0: a missing
// temperature sensor must not look like a freezing box.
import { Gauge, type Registry } from 'prom-client';
import type { BoxSample } from '../../drivers/system/probe.js';
import { decodeThrottled } from '../../drivers/system/throttled.js';

export function boxGauges(r: Registry, last: () => BoxSample | undefined): void {
  // Every gauge carries a label: prom-client prints `name 0` for a label-less gauge with no value,
  // and an unknown value must be absent.
  const gauge = (
    name: string,
    help: string,
    label: string,
    value: (s: BoxSample) => [string, number | null | undefined],
  ) =>
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [r],
      collect() {
        this.reset();
        const s = last();
        if (!s) return;
        const [lv, v] = value(s);
        if (v !== null && v !== undefined) this.set({ [label]: lv }, v);
      },
    });
  gauge(
    'wardgate_box_cpu_temperature_celsius',
    'CPU temperature (absent when the box has no sensor)',
    'sensor',
    (s) => ['cpu', s.cpuTempC],
  );
  gauge('wardgate_box_load1', 'One-minute load average', 'box', (s) => ['self', s.load1]);
  gauge('wardgate_box_memory_available_bytes', 'Memory available', 'box', (s) => ['self', s.memAvailableBytes]);
  gauge('wardgate_box_disk_free_bytes', 'Free bytes on the outbox volume', 'path', (s) => [
    s.disk?.path ?? '',
    s.disk?.freeBytes,
  ]);
  gauge('wardgate_box_disk_free_ratio', 'Free fraction of the outbox volume', 'path', (s) => [
    s.disk?.path ?? '',
    s.disk ? s.disk.freePercent / 100 : null,
  ]);
  gauge('wardgate_box_uptime_seconds', 'Uptime of the box', 'box', (s) => ['self', s.uptimeSec]);
  new Gauge({
    name: 'wardgate_box_firmware_flag',
    help: 'Raspberry Pi firmware flags (1 = set; absent when the platform has none)',
    labelNames: ['flag'],
    registers: [r],
    collect() {
      this.reset();
      const raw = last()?.throttled;
      if (raw === null || raw === undefined) return;
      for (const [flag, on] of Object.entries(decodeThrottled(raw))) if (flag !== 'raw') this.set({ flag }, on ? 1 : 0);
    },
  });
}
