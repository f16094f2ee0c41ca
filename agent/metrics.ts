// Prometheus text at /metrics. A registry per agent (tests run several in one process); gauges are
// read at scrape time from the live objects, so the alarm path does no metrics work.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { modbusGauges } from '../drivers/modbus/metrics.js';
import type { BoxSample } from '../drivers/system/probe.js';
import type { DriverHealth } from '../drivers/types.js';
import { boxGauges } from './devices/gateway-health-metrics.js';
import { EDGE, PUBACK, stageDurations } from './outbox/timeline.js';

export interface MetricsSources {
  lanes: () => Array<{ lane: string; depth: number; bytes: number; oldestAgeMs: number | null; refused?: number }>;
  inflight: () => number;
  connected: () => boolean;
  uplink: () => { published: number; acked: number; connects: number; disconnects: number; connectFailures: number };
  devicesOnline: () => Array<{ id: string; online: boolean }>;
  driverRestarts: () => Record<string, number>;
  lastSeq: () => number;
  /** The box's last health sample (issue 9). */
  box?: () => BoxSample | undefined;
  /** Every driver's health (Modbus counters per bus and unit, issue 8). */
  drivers?: () => Record<string, DriverHealth>;
}

export class Metrics {
  readonly registry = new Registry();
  readonly accepted: Counter<'type' | 'severity'>;
  readonly commitSeconds: Histogram;
  readonly evicted: Counter;
  /** Per-stage time of each alarm (critical, high) from its input to the broker's PUBACK (issue 13). */
  readonly stageSeconds: Histogram<'stage'>;

  /** One label lookup per distinct type in a commit, not one per event. */
  countAccepted(events: readonly { type: string; severity: string }[]): void {
    if (events.length === 0) return;
    const counts = new Map<string, { type: string; severity: string; n: number }>();
    for (const e of events) {
      const key = `${e.type}|${e.severity}`;
      const c = counts.get(key);
      if (c) c.n++;
      else counts.set(key, { type: e.type, severity: e.severity, n: 1 });
    }
    for (const c of counts.values()) this.accepted.inc({ type: c.type, severity: c.severity }, c.n);
  }

  /** One alarm's timeline (agent/outbox/timeline.ts): each stage's share, and the whole path. */
  observeStages(stamps: Float64Array): void {
    for (const [stage, ms] of stageDurations(stamps)) this.stageSeconds.observe({ stage }, ms / 1000);
    const total = (stamps[PUBACK] as number) - (stamps[EDGE] as number);
    this.stageSeconds.observe({ stage: 'total' }, total / 1000);
  }

  constructor(src: MetricsSources) {
    const r = this.registry;
    this.stageSeconds = new Histogram({
      name: 'wardgate_alarm_stage_seconds',
      help: 'Per-stage time of alarms (critical/high), each from the previous stage: model (input reached the agent → event), accept, commit (FULL), pickup (drain), publish (to the socket), puback (broker); total = input → PUBACK',
      labelNames: ['stage'],
      buckets: [0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25, 1],
      registers: [r],
    });
    this.accepted = new Counter({
      name: 'wardgate_events_accepted_total',
      help: 'Events accepted (durable) by type',
      labelNames: ['type', 'severity'],
      registers: [r],
    });
    this.evicted = new Counter({
      name: 'wardgate_outbox_evicted_total',
      help: 'Telemetry rows evicted from the outbox',
      registers: [r],
    });
    this.commitSeconds = new Histogram({
      name: 'wardgate_accept_seconds',
      help: 'Time from an event being made to its durable commit',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [r],
    });
    new Gauge({
      name: 'wardgate_outbox_depth',
      help: 'Events waiting in the outbox, per lane',
      labelNames: ['lane'],
      registers: [r],
      collect() {
        for (const l of src.lanes()) this.set({ lane: l.lane }, l.depth);
      },
    });
    new Gauge({
      name: 'wardgate_outbox_bytes',
      help: 'Bytes waiting in the outbox, per lane',
      labelNames: ['lane'],
      registers: [r],
      collect() {
        for (const l of src.lanes()) this.set({ lane: l.lane }, l.bytes);
      },
    });
    new Gauge({
      name: 'wardgate_outbox_refused',
      help: 'Rows the broker refused (MQTT 5 reason code >= 0x80), kept and retried, per lane',
      labelNames: ['lane'],
      registers: [r],
      collect() {
        for (const l of src.lanes()) this.set({ lane: l.lane }, l.refused ?? 0);
      },
    });
    new Gauge({
      name: 'wardgate_outbox_oldest_age_seconds',
      help: 'Age of the oldest waiting event, per lane (0 when empty)',
      labelNames: ['lane'],
      registers: [r],
      collect() {
        for (const l of src.lanes()) this.set({ lane: l.lane }, (l.oldestAgeMs ?? 0) / 1000);
      },
    });
    new Gauge({
      name: 'wardgate_outbox_last_seq',
      help: 'Last accepted seq',
      registers: [r],
      collect() {
        this.set(src.lastSeq());
      },
    });
    new Gauge({
      name: 'wardgate_uplink_inflight',
      help: 'Publishes awaiting PUBACK',
      registers: [r],
      collect() {
        this.set(src.inflight());
      },
    });
    new Gauge({
      name: 'wardgate_uplink_connected',
      help: '1 when connected to a broker',
      registers: [r],
      collect() {
        this.set(src.connected() ? 1 : 0);
      },
    });
    // Mirrors of the uplink's own counters: reset and re-set at scrape time, still counters.
    const uplinkCounter = (name: string, help: string, key: keyof ReturnType<MetricsSources['uplink']>) =>
      new Counter({
        name,
        help,
        registers: [r],
        collect() {
          this.reset();
          this.inc(src.uplink()[key]);
        },
      });
    uplinkCounter('wardgate_uplink_published_total', 'Publishes sent', 'published');
    uplinkCounter('wardgate_uplink_acked_total', 'Publishes acknowledged by the broker', 'acked');
    uplinkCounter('wardgate_uplink_connects_total', 'Successful broker connections', 'connects');
    uplinkCounter('wardgate_uplink_disconnects_total', 'Lost broker connections', 'disconnects');
    uplinkCounter('wardgate_uplink_connect_failures_total', 'Failed connection attempts', 'connectFailures');
    new Gauge({
      name: 'wardgate_device_online',
      help: '1 when the device is available',
      labelNames: ['device'],
      registers: [r],
      collect() {
        for (const d of src.devicesOnline()) this.set({ device: d.id }, d.online ? 1 : 0);
      },
    });
    new Gauge({
      name: 'wardgate_driver_restarts',
      help: 'Restarts of each driver by the supervisor',
      labelNames: ['driver'],
      registers: [r],
      collect() {
        for (const [driver, n] of Object.entries(src.driverRestarts())) this.set({ driver }, n);
      },
    });
    if (src.box) boxGauges(r, src.box);
    if (src.drivers) modbusGauges(r, src.drivers);
  }
}
