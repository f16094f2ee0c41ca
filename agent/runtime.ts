// The agent: wires config, outbox, uplink, drivers, device models and the web page together, and
// owns the order of start and stop. Every event goes model → outbox (durable) → drain → broker.
import type { Logger } from 'pino';
import { type GpioBackend, lineKey } from '../drivers/gpio/backend.js';
import { GpioDriver, type GpioReadingValue, type OutputSpec } from '../drivers/gpio/driver.js';
import { type GpioBackendKind, loadGpioBackendFactory } from '../drivers/gpio/index.js';
import type { Reading } from '../drivers/types.js';
import { ActionEngine } from './actions/engine.js';
import { OutputBank, type OutputState } from './actions/outputs.js';
import { outputAndActionWarnings } from './actions/validate.js';
import { Alarms, alarmDeviceInfo } from './alarms.js';
import { bootId, type ClockConfig, isClockSynced, uptimeMs } from './clock.js';
import { CommandUnit, commandSubscription } from './commands/unit.js';
import { resolveSecret } from './config/secrets.js';
import type { Config } from './config/types.js';
import { driverKinds } from './devices/driver-kinds.js';
import { BOX_HEALTH_DEFAULTS, GatewayHealth } from './devices/gateway-health.js';
import type { DriverKind } from './devices/kinds.js';
import { type DeviceEntry, DeviceRegistry } from './devices/registry.js';
import type { ModelEvent } from './devices/types.js';
import { errorCode, errorMessage, WardgateError } from './errors.js';
import { type MakeEventInput, makeEvent, type NewEvent, type WgEvent } from './event.js';
import { EventHistory } from './history.js';
import { selfTest, startJobs } from './jobs/index.js';
import { setLogLevel } from './jobs/log-level.js';
import type { Jobs } from './jobs/scheduler.js';
import type { SelfTestReport } from './jobs/self-test.js';
import { Metrics } from './metrics.js';
import { Drain } from './outbox/drain.js';
import { Outbox } from './outbox/store.js';
import { AlarmTimeline } from './outbox/timeline.js';
import { type ReloadInternals, type ReloadResult, type ReloadSource, reloadAgent } from './reload.js';
import { SimInjector } from './sim.js';
import { type AgentStatus, buildStatus, healthPayload, statusPayload } from './status.js';
import { Supervisor } from './supervisor.js';
import { Uplink } from './uplink/mqtt.js';
import { within } from './uplink/net.js';
import { RetainedPublisher } from './uplink/retained.js';
import { readTls } from './uplink/tls.js';
import { type TopicContext, topics } from './uplink/topics.js';
import { VERSION } from './version.js';
import { WalkTests } from './walktest.js';

export interface AgentOptions {
  config: Config;
  log: Logger;
  /** Override the GPIO backend (tests). */
  gpioBackend?: () => GpioBackend;
}

const HOUR = 3_600_000;

export class Agent {
  /** Replaced as a whole by a live reload (agent/reload.ts). */
  config: Config;
  readonly log: Logger;
  readonly outbox: Outbox;
  readonly uplink: Uplink;
  readonly drain: Drain;
  readonly devices: DeviceRegistry;
  readonly supervisor: Supervisor;
  readonly metrics: Metrics;
  readonly retained: RetainedPublisher;
  outputBank: OutputBank;
  actions: ActionEngine;
  readonly topicCtx: TopicContext;
  readonly startedAt = Date.now();
  /** Signed commands, the control room's acknowledgement with escalation, the path monitor (issue 10). */
  readonly commands: CommandUnit;
  /** Recent durable events per device and the live tap of the page (issue 11). */
  readonly history = new EventHistory();
  /** Where each alarm's time goes, stage by stage (issue 13): /metrics and the latency bench read it. */
  readonly timeline = new AlarmTimeline();
  /** The box's own health (issue 9): sampled on a timer, read by `health`, the page and /metrics. */
  readonly boxHealth: GatewayHealth;
  /** Active alarms; the control room's `alarm.ack` records who acknowledged here (agent/alarms.ts). */
  readonly alarms: Alarms;
  readonly walkTests: WalkTests;
  private gpio: GpioDriver | undefined;
  /** This agent's driver kinds (agent/devices/driver-kinds.ts); GPIO alone is wired here by name. */
  readonly kinds: DriverKind[] = driverKinds();
  /** Per device: its GPIO lines that are faulted or flooding, with the reason shown. */
  private readonly lineProblems = new Map<string, Map<string, string>>();
  private readonly clockCfg: ClockConfig;
  private clockSynced: boolean;
  private readonly sim: SimInjector;
  private timers: NodeJS.Timeout[] = [];
  /** The one stop in progress: a second caller (SIGTERM during a guard's stop) waits for it. */
  private stopping: Promise<void> | undefined;

  private constructor(opts: AgentOptions) {
    const { config, log } = opts;
    this.config = config;
    this.log = log;
    this.topicCtx = { prefix: config.mqtt.prefix, gateway: config.gateway.id };
    this.clockCfg = {
      sync: config.gateway.clock?.sync ?? 'timesyncd',
      ...(config.gateway.clock?.file ? { file: config.gateway.clock.file } : {}),
    };
    this.clockSynced = isClockSynced(this.clockCfg);

    this.outbox = new Outbox({
      dataDir: config.gateway.dataDir,
      maxBytes: config.outbox?.maxBytes ?? 256 * 1024 * 1024,
      maxAgeMs: {
        ...(config.outbox?.maxAgeHours?.normal ? { normal: config.outbox.maxAgeHours.normal * HOUR } : {}),
        ...(config.outbox?.maxAgeHours?.low ? { low: config.outbox.maxAgeHours.low * HOUR } : {}),
      },
      checkpointIntervalMs: config.outbox?.checkpointIntervalMs ?? 1000,
      maxHeldEvents: config.outbox?.maxHeldEvents ?? 10_000,
      log: log.child({ unit: 'outbox' }),
      gatewayEvent: (input) => this.gatewayEvent(input),
      topicOf: (ev) => topics.eventSuffix(ev.deviceType, ev.device),
      fullTopic: (suffix) => topics.full(this.topicCtx, suffix),
      // The outbox's own events (publish rejected, disk low, evicted) can drive local actions too.
      onOwnEvent: (ev) => this.actions.onEvent(ev),
      timeline: this.timeline,
    });

    this.uplink = new Uplink({
      brokers: config.mqtt.brokers,
      protocol: config.mqtt.protocol,
      clientId: config.mqtt.clientId ?? `wardgate-${config.gateway.id}`,
      ...(config.mqtt.username !== undefined ? { username: config.mqtt.username } : {}),
      ...(config.mqtt.password !== undefined
        ? { password: resolveSecret(config.mqtt.password, 'mqtt.password') as string }
        : {}),
      keepaliveSec: config.mqtt.keepaliveSec,
      connectTimeoutMs: config.mqtt.connectTimeoutMs,
      backoff: {
        minMs: config.mqtt.backoff?.minMs ?? 500,
        maxMs: config.mqtt.backoff?.maxMs ?? 1500,
        stableMs: (config.mqtt.backoff?.stableSec ?? 30) * 1000,
        takeoverMs: config.mqtt.backoff?.takeoverMs ?? 30_000,
      },
      ...(config.mqtt.tls ? { tls: readTls(config.mqtt.tls) } : {}),
      will: {
        topic: topics.status(this.topicCtx),
        payload: JSON.stringify(this.statusPayload('offline', 'connection lost')),
      },
      offlineStatus: (reason) => JSON.stringify(this.statusPayload('offline', reason)),
      failbackSec: config.mqtt.failbackSec,
      ...commandSubscription(config),
      log: log.child({ unit: 'uplink' }),
    });

    this.drain = new Drain(this.outbox, this.uplink, {
      window: config.mqtt.inflight,
      fullTopic: (suffix) => topics.full(this.topicCtx, suffix),
      clockSynced: () => this.clockSynced,
      telemetryExpirySec: config.mqtt.telemetryExpirySec,
      refusedRetryMs: (config.outbox?.refusedRetrySec ?? 60) * 1000,
      timeline: this.timeline,
      log: log.child({ unit: 'drain' }),
    });

    this.retained = new RetainedPublisher(this.uplink, this.topicCtx, log.child({ unit: 'retained' }));

    this.outputBank = this.makeOutputBank(config);
    this.actions = this.makeActions(config);
    for (const warning of outputAndActionWarnings(config as unknown as Record<string, unknown>))
      log.warn({ unit: 'actions' }, `config: ${warning}`);

    // Interim (issue 9): a kind whose models may ask for a clean stop (a UPS on low battery) gets the
    // agent's stop path, until the registry passes DeviceModelContext.requestStop itself.
    for (const kind of this.kinds) {
      if ('requestStop' in kind) {
        (kind as { requestStop?: (reason: string) => Promise<void> }).requestStop = (reason) =>
          this.requestStop(kind.driver, reason);
      }
    }
    this.devices = new DeviceRegistry(
      config,
      log,
      {
        emit: (entry, ev) => this.onModelEvent(entry, ev),
        stateChanged: (entry) => this.retained.setStateOf(entry.cfg.id, () => this.devices.snapshot(entry)),
        setOutput: (_entry, id, active, by) => void this.outputBank.set(id, active, by),
        setAvailability: (entry, online, reason, announce) => this.setAvailability(entry, online, reason, announce),
        write: (driver, point, value) => this.writePoint(driver, point, value),
      },
      this.kinds,
    );
    this.sim = new SimInjector(this.devices, () => this.gpio?.backend, this.kinds);

    this.supervisor = new Supervisor(
      { log },
      {
        onReading: (driver, reading) => this.onReading(driver, reading),
        onDown: (driver, err) => this.onDriverDown(driver, err),
        onUp: (driver) => this.onDriverUp(driver),
      },
    );

    this.metrics = new Metrics({
      lanes: () => this.outbox.stats(),
      inflight: () => this.outbox.inflightCount,
      connected: () => this.uplink.connected,
      uplink: () => this.uplink.stats,
      devicesOnline: () => [...this.devices.devices.values()].map((d) => ({ id: d.cfg.id, online: d.online })),
      driverRestarts: () =>
        Object.fromEntries(Object.entries(this.supervisor.health()).map(([k, v]) => [k, v.restarts])),
      lastSeq: () => this.outbox.lastSeq,
      box: () => this.boxHealth?.lastSample,
      drivers: () => this.supervisor.health(),
    });
    this.outbox.onAccepted((accepted) => this.metrics.countAccepted(accepted));
    this.timeline.onComplete((stamps) => this.metrics.observeStages(stamps));
    this.alarms = new Alarms((id) => alarmDeviceInfo(this, id));
    this.walkTests = new WalkTests({
      dir: `${config.gateway.dataDir}/walk-tests`,
      keep: config.web?.walkTestsKept ?? 50,
      gateway: config.gateway.id,
      site: config.gateway.site,
      devices: () => config.devices.map((d) => ({ id: d.id, type: d.type, name: d.name, location: d.location })),
      log: log.child({ unit: 'walk-test' }),
    });
    // The page's views of durable events; behind a boundary: they must never fail a commit's listeners.
    this.outbox.onAccepted((accepted) => {
      if (accepted.length === 0) return;
      this.guarded('page event tap', () => {
        this.walkTests.record(accepted);
        this.alarms.onEvents(accepted);
        this.history.add(accepted);
      });
    });
    this.commands = new CommandUnit(this);
    this.boxHealth = new GatewayHealth({
      config: config.health ?? BOX_HEALTH_DEFAULTS,
      diskPath: config.gateway.dataDir,
      emit: (ev) => this.guarded('box health event', () => this.accept(this.gatewayEvent(ev))),
      log: log.child({ unit: 'box-health' }),
    });
  }

  private makeOutputBank(config: Config): OutputBank {
    return new OutputBank({
      outputs: config.outputs ?? [],
      defaultChip: config.gpio?.chip ?? 'gpiochip0',
      write: (point, level) =>
        this.gpio
          ? this.gpio.write(point, level)
          : Promise.reject(new WardgateError('WG_ERR_GPIO_LINE', 'the GPIO driver is not running')),
      changed: (id, snapshot) => this.retained.setState(id, snapshot),
      log: this.log.child({ unit: 'outputs' }),
    });
  }

  private makeActions(config: Config): ActionEngine {
    return new ActionEngine({
      rules: config.actions ?? [],
      outputs: this.outputBank,
      acknowledge: (device) => this.acknowledge(device),
      command: (device, name, args) => this.deviceCommand(device, name, args),
      log: this.log.child({ unit: 'actions' }),
    });
  }

  /** Open the outbox, connect, start the drivers. Resolves when the agent is READY. */
  static async start(opts: AgentOptions): Promise<Agent> {
    const agent = new Agent(opts);
    await agent.startParts(opts);
    return agent;
  }

  private async startParts(opts: AgentOptions): Promise<void> {
    const { config } = this;
    void this.accept(
      this.gatewayEvent({
        type: 'gateway.started',
        data: { version: VERSION, pid: process.pid, devices: config.devices.length, lastSeq: this.outbox.lastSeq },
      }),
    ).catch((err) => this.log.error({ err }, 'could not record gateway.started'));

    this.uplink.on('connect', () => {
      // Contract order after every (re)connect: status online, every retained state, then the backlog.
      // Each step behind a boundary: whatever fails to publish, the drain still resumes.
      this.guarded('connect: status', () => this.retained.publishStatus(this.statusPayload('online')));
      this.guarded('connect: retained states', () => this.retained.republishAll());
      this.guarded('connect: health', () => this.retained.publishHealth(this.healthPayload()));
      this.drain.resume();
    });
    this.uplink.on('disconnect', () => this.drain.pause());
    this.uplink.start();

    if (config.devices.length > 0 || (config.outputs?.length ?? 0) > 0) {
      const kind = (config.gpio?.backend ?? 'gpiod') as GpioBackendKind;
      const factory = opts.gpioBackend ?? (await loadGpioBackendFactory(kind));
      this.gpioFactory = factory;
      this.gpio = new GpioDriver(factory, this.devices.gpioInputRefs(), this.gpioOutputs());
      this.supervisor.add(this.gpio);
    }
    for (const kind of this.kinds) {
      const env = { config, log: this.log.child({ driver: kind.driver }), points: this.devices.pointsOf(kind.driver) };
      for (const driver of await kind.createDrivers(env)) this.supervisor.add(driver);
    }
    await this.supervisor.startAll();

    // Every periodic job in one place, each guarded against overlap and failure (agent/jobs/).
    this.jobs = startJobs(this);
    this.guarded('box health', () => this.boxHealth.sample());
    this.jobs.add('box-health', { everySec: config.health?.intervalSec ?? BOX_HEALTH_DEFAULTS.intervalSec }, () =>
      this.boxHealth.sample(),
    );
  }

  /** Scheduled jobs (agent/jobs/); undefined until started. */
  jobs: Jobs | undefined;
  /** The last self-test (daily, or asked for from the page); on /api/status. */
  lastSelfTest: SelfTestReport | undefined;
  private readonly lastReadingAt = new Map<string, number>();
  private readonly driverUpAt = new Map<string, number>();

  /** When a driver last delivered a reading, or started if it has not yet (the self-test's "last success"). */
  driverLastSuccess(driver: string): number | undefined {
    return this.lastReadingAt.get(driver) ?? this.driverUpAt.get(driver);
  }

  /** Run the self-test, record it as a `gateway.self_test` event and keep it for the page. */
  async recordSelfTest(now = Date.now()): Promise<SelfTestReport> {
    const report = selfTest(this, now);
    this.lastSelfTest = report;
    if (!report.ok) {
      const failed = report.items.filter((i) => !i.ok).map((i) => i.item);
      this.log.warn({ code: 'WG_ERR_SELF_TEST_FAILED', failed }, 'self-test found problems');
    }
    const severity = report.ok ? 'normal' : 'high';
    await this.accept(this.gatewayEvent({ type: 'gateway.self_test', severity, data: { ...report } }));
    return report;
  }

  /** The config file a reload re-reads (`wardgate run --config`). */
  configPath: string | undefined;
  /** sd_notify for RELOADING=1 / READY=1 around a reload (`wardgate run` sets it). */
  notifySystemd: (state: string) => void = () => {};
  /** The last reload's outcome (on /api/status; an invalid file's problems are shown there). */
  lastReload: ReloadResult | undefined;
  private gpioFactory: (() => GpioBackend) | undefined;
  private reloading: Promise<unknown> = Promise.resolve();

  /** Live reload (SIGHUP, `config.reload`, the page); never throws, one at a time. */
  reload(source: ReloadSource, by?: string): Promise<ReloadResult> {
    const run = () => reloadAgent(this, this.reloadInternals(), this.configPath, source, by);
    const p = this.reloading.then(run, run);
    this.reloading = p.catch(() => {});
    return p;
  }

  private reloadInternals(): ReloadInternals {
    return {
      setConfig: (c) => {
        this.config = c;
      },
      restartGpio: async () => {
        const refs = this.devices.gpioInputRefs();
        const outputs = this.gpioOutputs();
        if (refs.length === 0 && outputs.length === 0) {
          await this.supervisor.remove('gpio');
          this.gpio = undefined;
          return false;
        }
        const factory =
          this.gpioFactory ?? (await loadGpioBackendFactory((this.config.gpio?.backend ?? 'gpiod') as GpioBackendKind));
        this.gpioFactory = factory;
        this.lineProblems.clear();
        this.gpio = new GpioDriver(factory, refs, outputs);
        await this.supervisor.replace(this.gpio);
        return true;
      },
      replaceOutputsAndActions: (c, outputs) => {
        this.actions.stop();
        if (outputs) {
          this.outputBank.stop();
          this.outputBank = this.makeOutputBank(c);
        }
        this.actions = this.makeActions(c);
      },
      reconnectUplink: async (c) => {
        this.drain.pause();
        await this.uplink.reconnectWith({
          brokers: c.mqtt.brokers,
          protocol: c.mqtt.protocol,
          keepaliveSec: c.mqtt.keepaliveSec,
          connectTimeoutMs: c.mqtt.connectTimeoutMs,
          ...(c.mqtt.username !== undefined ? { username: c.mqtt.username } : {}),
          ...(c.mqtt.password !== undefined
            ? { password: resolveSecret(c.mqtt.password, 'mqtt.password') as string }
            : {}),
          ...(c.mqtt.tls ? { tls: readTls(c.mqtt.tls) } : {}),
          failbackSec: c.mqtt.failbackSec,
        });
      },
      restartJobs: () => {
        this.jobs?.stopAll();
        this.jobs = startJobs(this);
        this.jobs.add(
          'box-health',
          { everySec: this.config.health?.intervalSec ?? BOX_HEALTH_DEFAULTS.intervalSec },
          () => this.boxHealth.sample(),
        );
      },
      notify: (state) => this.notifySystemd(state),
    };
  }

  /** The runtime log level (page, `log.level` command); a restart goes back to the configured one. */
  setLogLevel(level: string, by?: string): { from: string; to: string } {
    return setLogLevel(this.log, level, by);
  }

  /**
   * Error boundary for a periodic job or an event handler: a throw (or a rejected promise) is
   * logged with a code and the job runs again at its next turn; it never reaches the process.
   */
  private guarded(job: string, fn: () => unknown): void {
    const failed = (err: unknown) => this.log.error({ code: 'WG_ERR_JOB_FAILED', job, err }, `${job} failed`);
    try {
      const r = fn();
      if (r instanceof Promise) r.catch(failed);
    } catch (err) {
      failed(err);
    }
  }

  gatewayEvent(input: Omit<MakeEventInput, 'device' | 'deviceType'>): NewEvent {
    return makeEvent(this.eventSource(), { ...input, device: this.config.gateway.id, deviceType: 'gateway' });
  }

  private eventSource() {
    return { gateway: this.config.gateway.id, site: this.config.gateway.site, clockSynced: () => this.clockSynced };
  }

  /** The only way into the outbox: resolves when the event is durable. */
  accept(ev: NewEvent): Promise<WgEvent> {
    // Local actions run now, before the event is durable: a sounder or a LED on this box must not
    // wait for an fsync (milliseconds on SD/eMMC, DESIGN §11) nor fail with a full disk; the event
    // itself still takes the durable path below.
    this.actions.onEvent(ev);
    this.commands.escalation.onEvent(ev);
    return this.outbox.accept(ev);
  }

  private onModelEvent(entry: DeviceEntry, ev: ModelEvent): void {
    const event = makeEvent(this.eventSource(), { ...ev, device: entry.cfg.id, deviceType: entry.cfg.type });
    this.timeline.model(event);
    this.walkTests.mark(event); // data.test / data.walkTest before the event is durable
    const p = this.accept(event);
    p.catch((err) => {
      // Held telemetry dropped on a full disk is counted and announced once, not logged per event.
      if (errorCode(err) === 'WG_ERR_OUTBOX_HELD_DROPPED') return;
      this.log.error({ err, device: entry.cfg.id, type: ev.type }, 'event not accepted');
    });
    this.sim.observe(entry.cfg.id, p);
  }

  /** Each output's line with its physical initial and safe (stop) levels; safeState defaults to off. */
  private gpioOutputs(): OutputSpec[] {
    const safe = new Map<string, 0 | 1>();
    for (const o of this.config.outputs ?? []) {
      const key = lineKey({ chip: o.chip ?? this.config.gpio?.chip ?? 'gpiochip0', line: o.line });
      safe.set(key, (o.safeState === 'on') !== o.activeLow ? 1 : 0);
    }
    return this.outputBank.driverOutputs().map((o) => ({ ...o, safe: safe.get(lineKey(o.ref)) ?? 0 }));
  }

  private onReading(driver: string, reading: Reading): void {
    this.timeline.edge();
    this.lastReadingAt.set(driver, Date.now());
    if (driver !== 'gpio') {
      // Other drivers' models own their availability (DeviceModelContext.setAvailability).
      this.devices.onReading(driver, reading);
      return;
    }
    const routed = this.devices.onGpioReading(reading);
    if (!routed) {
      const v = reading.value as GpioReadingValue;
      // Not an input: an output's line (its gpioset died, its chip vanished).
      if (v.kind === 'fault') this.outputBank.fault(reading.point, v.error);
      else if (v.kind === 'recovered') this.outputBank.resync();
      return;
    }
    // Availability per line: a device is online while none of its lines is faulted or flooding.
    const { entry, value } = routed;
    const lines = this.lineProblems.get(entry.cfg.id) ?? new Map<string, string>();
    this.lineProblems.set(entry.cfg.id, lines);
    if (value.kind === 'fault') lines.set(reading.point, `GPIO line ${reading.point}: ${value.error}`);
    else if (value.kind === 'flood') {
      lines.set(
        reading.point,
        `GPIO line ${reading.point} is chattering (${value.edgesPerSec} edges/s): its edges are ignored until it is quiet`,
      );
    } else if (value.kind === 'recovered' || value.kind === 'initial' || value.kind === 'flood_cleared') {
      lines.delete(reading.point);
    } else return;
    const problem = [...lines.values()][0];
    if (problem === undefined) this.setAvailability(entry, true);
    else this.setAvailability(entry, false, problem);
  }

  /** Write an output point through its driver (a door's lock relay); refused with a code if it cannot. */
  private writePoint(driver: string, point: string, value: unknown): Promise<void> {
    const d = this.supervisor.driver(driver);
    if (!d?.write) return Promise.reject(new WardgateError('WG_ERR_DRIVER_FAULT', `driver ${driver} cannot write`));
    return d.write(point, value);
  }

  private setAvailability(entry: DeviceEntry, online: boolean, reason?: string, announce = true): void {
    const wasStarting = entry.reason === 'starting';
    if (entry.online === online && !wasStarting) return;
    entry.online = online;
    entry.since = Date.now();
    if (reason === undefined) delete entry.reason;
    else entry.reason = reason;
    // The first "online" at start is not news; every later change is.
    if (!(online && wasStarting) && announce) {
      this.onModelEvent(entry, { type: online ? 'device.online' : 'device.offline', data: reason ? { reason } : {} });
    }
    this.retained.setState(entry.cfg.id, this.devices.snapshot(entry));
  }

  private onDriverDown(driver: string, err: Error): void {
    if (driver !== 'gpio') {
      for (const entry of this.devices.devicesOf(driver))
        this.setAvailability(entry, false, `driver ${driver}: ${errorMessage(err)}`);
      return;
    }
    this.lineProblems.clear(); // each line reports again as the driver reopens it
    this.outputBank.fault(undefined, `driver ${driver}: ${errorMessage(err)}`);
    for (const entry of this.devices.devices.values())
      this.setAvailability(entry, false, `driver ${driver}: ${errorMessage(err)}`);
  }

  private onDriverUp(driver: string): void {
    this.driverUpAt.set(driver, Date.now());
    // Availability returns per line with each initial reading; outputs are rewritten where in doubt.
    if (driver === 'gpio') this.outputBank.resync();
  }

  /** Re-read the clock sync state (every 5 s; tests call it directly). */
  checkClock(): void {
    const synced = isClockSynced(this.clockCfg);
    if (synced && !this.clockSynced) {
      this.clockSynced = true;
      void this.accept(
        this.gatewayEvent({ type: 'gateway.clock_synced', data: { bootId: bootId(), uptimeMs: uptimeMs() } }),
      ).catch((err) => this.log.error({ err }, 'could not record clock sync'));
      this.drain.pump();
    } else if (!synced) this.clockSynced = false;
  }

  /** Drive a sim input; resolves with the events this change made durable (none while debouncing). */
  simulate(deviceId: string, input: string, active: boolean): Promise<{ accepted: WgEvent[]; pending: boolean }> {
    return this.sim.inject(deviceId, input, active);
  }

  statusPayload(state: 'online' | 'offline', reason?: string): Record<string, unknown> {
    return statusPayload(this, state, reason);
  }

  /** What the page, `/api/status` and `health` show. */
  status(): AgentStatus {
    return buildStatus(this);
  }

  /** The retained `health` payload; never throws (agent/status.ts). */
  healthPayload(): Record<string, unknown> {
    return healthPayload(this);
  }

  get clockIsSynced(): boolean {
    return this.clockSynced;
  }

  get gpioBackendKind(): string | null {
    return this.gpio?.backend?.kind ?? this.config.gpio?.backend ?? null;
  }

  deviceStates() {
    return [...this.devices.devices.values()].map((e) => this.devices.snapshot(e));
  }

  /** Every configured output: logical state, last change, last write error (for the page and `state/{id}`). */
  outputs(): OutputState[] {
    return this.outputBank.list();
  }

  /** A device's own command (`unlock` on a door): local actions and the commands issue use it. */
  deviceCommand(deviceId: string, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    const model = this.devices.devices.get(deviceId)?.model;
    if (!model?.command)
      return Promise.reject(new WardgateError('WG_ERR_HTTP_NOT_FOUND', `device ${deviceId} takes no commands`));
    return model.command(name, args);
  }

  /** The control room acknowledged a device's alarm (the `ack` command, or a local `ack-led` rule). */
  acknowledge(deviceId: string): boolean {
    const model = this.devices.devices.get(deviceId)?.model;
    if (!model?.acknowledge) throw new WardgateError('WG_ERR_HTTP_NOT_FOUND', `no device ${deviceId} to acknowledge`);
    return model.acknowledge();
  }

  /**
   * Who carries out a stop a device asked for: `wardgate run` sets it (page closed too, then the
   * process exits); without it the agent stops alone (tests, embedded use).
   */
  stopRequestHandler: ((reason: string) => Promise<void>) | undefined;

  /** A device asked for a clean stop (UPS low battery, issue 9). Resolves once stopped. */
  requestStop(device: string, reason: string): Promise<void> {
    this.log.warn({ device, reason }, 'a device asked the gateway to stop');
    return (this.stopRequestHandler ?? ((r: string) => this.stop(r)))(reason);
  }

  /**
   * Graceful stop: drivers first (no new events), flush the outbox, then say offline. Every step
   * is bounded so the whole stop fits in `budgetMs`, well inside the unit's TimeoutStopSec=15
   * whatever the broker or a driver does (issue 7: a broker that never acknowledged held a stop
   * for 90 s). What is not acknowledged by then stays in the outbox for the next start.
   */
  stop(reason = 'shutdown', budgetMs = 8000): Promise<void> {
    this.stopping ??= this.stopSteps(reason, budgetMs);
    return this.stopping;
  }

  private async stopSteps(reason: string, budgetMs: number): Promise<void> {
    const deadline = Date.now() + budgetMs;
    // At most `ms` for a step, and never what the later steps need (`keep`).
    const upTo = (ms: number, keep: number) => Math.max(0, Math.min(ms, deadline - keep - Date.now()));
    const bounded = async (step: string, p: Promise<unknown>, ms: number) => {
      if (!(await within(p, ms))) this.log.warn({ code: 'WG_ERR_STOP_TIMEOUT', step, ms }, 'stop step timed out');
    };
    for (const t of this.timers) clearInterval(t);
    this.jobs?.stopAll();
    this.actions.stop();
    this.commands.stop();
    this.outputBank.stop();
    await bounded('drivers', this.supervisor.stopAll(), upTo(3000, 4000));
    this.devices.stop();
    const stopping = this.accept(this.gatewayEvent({ type: 'gateway.stopping', data: { reason } })).catch((err) =>
      this.log.error({ err }, 'could not record gateway.stopping'),
    );
    await bounded('record gateway.stopping', stopping, upTo(1000, 3500));
    await this.flushUplink(upTo(2000, 2000));
    // Send nothing more, but keep deleting the rows whose PUBACK still comes in while the uplink
    // says offline and waits for them (pausing here ignored them: a window of duplicates at every
    // restart).
    this.drain.finish();
    try {
      const offline = JSON.stringify(this.statusPayload('offline', reason));
      await this.uplink.stop(
        [{ topic: topics.status(this.topicCtx), payload: offline, retain: true }],
        upTo(1500, 300),
      );
    } catch (err) {
      // Whatever failed here (a payload, the socket), the outbox must still be closed cleanly.
      this.log.error({ err, code: 'WG_ERR_UPLINK_HANDLER' }, 'uplink stop failed');
      await this.uplink.stop([], 200).catch(() => {});
    }
    this.drain.pause();
    await this.outbox.close();
  }

  /** Give the drain a moment to empty the critical lanes before disconnecting. */
  private async flushUplink(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // Rows the broker refused are not waited for: it will not take them before the stop.
    const pending = () => this.outbox.depth > this.outbox.refusedRows || this.outbox.inflightCount > 0;
    while (this.uplink.connected && pending() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
