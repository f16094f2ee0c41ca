// The validated configuration, after defaults (config/wardgate.schema.json is the source of truth
// for what a file may say; these types are what the code may rely on after validation).
import type { BusConfig } from '../../drivers/modbus/types.js';
import type { ClockConfig } from '../clock.js';
import type { DoorConfig } from '../devices/door-config.js';
import type { EventType, Severity } from '../event.js';

export type Secret = string | { file: string } | { env: string };

export interface GpioInputConfig {
  chip?: string;
  line: number | string;
  activeLow: boolean;
}

export interface PanicButtonConfig {
  id: string;
  type: 'panic-button';
  name?: string;
  location?: string;
  input: GpioInputConfig;
  debounceMs: number;
  minHoldMs: number;
  severity: Severity;
  /** Tamper switch of the button's housing: `panic.tamper` while it is active. */
  tamper?: GpioInputConfig;
  /** The button's LED: lit when the control room acknowledges, off on release or after `offAfterSec`. */
  led?: { output: string; offAfterSec: number };
}

/** Fire panel volt-free relay contacts (DESIGN §8: alarm relay + fault relay as a pair). */
export interface FirePanelConfig {
  id: string;
  type: 'fire-panel';
  name?: string;
  location?: string;
  alarm: GpioInputConfig;
  fault?: GpioInputConfig;
  debounceMs: number;
  minHoldMs: number;
  /** More debounced changes than this in a sliding minute make the input "chattering" (one `fire.fault`). */
  chatterEdgesPerMinute: number;
  /** A chattering input is trusted again after this long without a debounced change. */
  chatterQuietSec: number;
  /** While chattering, a level must hold this long to be reported (flagged `suspectedChatter`). */
  chatterHoldSec: number;
}

/** What a generic input reports on one transition: any catalogue type, optional severity. */
export interface InputTransitionConfig {
  event: EventType;
  severity?: Severity;
}

/** A generic binary input: a door contact, a water-leak sensor, a cabinet switch. */
export interface InputDeviceConfig {
  id: string;
  type: 'input';
  name?: string;
  location?: string;
  input: GpioInputConfig;
  debounceMs: number;
  minHoldMs: number;
  active: InputTransitionConfig;
  inactive: InputTransitionConfig;
}

/** An ONVIF camera watched for health (issue 9); `covers` is the area a patrol must watch while it is dark. */
export interface CameraConfig {
  id: string;
  type: 'camera';
  name?: string;
  location?: string;
  covers: string;
  onvif: { host: string; port: number; username?: string; password?: Secret };
  checkSec: number;
  timeoutMs: number;
  /** Camera clock minus ours beyond this (either way) raises camera.clock_drift. */
  maxClockDriftSec: number;
  /** Hash the snapshot each check; unchanged for staleChecks checks → camera.image_stale. */
  snapshot?: { staleChecks: number };
  /** Demo/tests: an in-process ONVIF responder instead of `onvif.host` (switchable from the page). */
  simulate?: boolean;
}

/** A UPS behind NUT's upsd (issue 9). */
export interface UpsConfig {
  id: string;
  type: 'ups';
  name?: string;
  location?: string;
  nut: { host: string; port: number; ups: string; username?: string; password?: Secret; timeoutMs?: number };
  pollSec: number;
  /** On low battery (or runtime below runtimeSec): stop cleanly, then optionally run shutdownCommand. */
  onLowBattery: { stop: boolean; runtimeSec?: number; shutdownCommand?: string[] };
  /** Demo/tests: an in-process NUT server instead of `nut.host` (switchable from the page). */
  simulate?: boolean;
}

export type DeviceConfig =
  | PanicButtonConfig
  | FirePanelConfig
  | InputDeviceConfig
  | CameraConfig
  | UpsConfig
  | DoorConfig;

/** A GPIO output (sounder, strobe, LED, relay). `initial`/`active` are logical (activeLow applied). */
export interface OutputConfig {
  id: string;
  name?: string;
  chip?: string;
  line: number | string;
  activeLow: boolean;
  initial: boolean;
  /** Logical state written before the line is released (stop, GPIO driver restart); default off. */
  safeState?: 'off' | 'on';
}

interface ActionRuleBase {
  /** Event type that triggers the rule. */
  on: EventType;
  /** Only events from these devices (default: any device). */
  from?: string[];
}

export type ActionRuleConfig =
  | (ActionRuleBase & { do: 'set'; output: string; value?: boolean; forSec?: number })
  | (ActionRuleBase & { do: 'pulse'; output: string; pulseMs?: number; gapMs?: number; count?: number })
  | (ActionRuleBase & { do: 'ack-led' })
  /** Release these doors' locks (fire alarm → fire-exit doors), each for unlockSec or its own. */
  | (ActionRuleBase & { do: 'door.unlock'; doors: string[]; unlockSec?: number });

export interface Config {
  gateway: { id: string; site: string; dataDir: string; clock?: Partial<ClockConfig> };
  mqtt: {
    brokers: string[];
    prefix: string;
    protocol: 'auto' | '5' | '3.1.1';
    clientId?: string;
    username?: string;
    password?: Secret;
    keepaliveSec: number;
    connectTimeoutMs: number;
    inflight: number;
    /**
     * stableSec: a connection up this long resets the backoff (default 30); maxMs: the reconnect
     * cap (default 1500: seconds on a life-safety box); takeoverMs: the delay while another client
     * holds the session (default 30000).
     */
    backoff?: { minMs?: number; maxMs?: number; stableSec?: number; takeoverMs?: number };
    telemetryExpirySec: number;
    healthIntervalSec: number;
    failbackSec: number;
    tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean; servername?: string };
  };
  outbox?: {
    maxBytes?: number;
    maxAgeHours?: { normal?: number; low?: number };
    checkpointIntervalMs?: number;
    /** Events held in memory while the disk refuses writes; past it low, then normal ones are dropped. */
    maxHeldEvents?: number;
    /** How often rows the broker refused are offered again while connected (and at every reconnect). */
    refusedRetrySec?: number;
  };
  web?: {
    host?: string;
    port?: number;
    /** Bearer tokens for machines (`/api/*`, `/metrics`), as sha256:<hex>. */
    tokens?: string[];
    /** Technicians who sign in to the page; passwordHash from `wardgate passwd` (scrypt:...). */
    users?: Array<{ name: string; passwordHash: string }>;
    /** Serve HTTPS with these PEM files (the box's own certificate). */
    tls?: { cert: string; key: string };
    /** A signed-in session ends after this long without a request. */
    sessionIdleMinutes?: number;
    /** Host names the page answers to besides IP literals, localhost and the box's hostname. */
    allowedHosts?: string[];
    /** Finished walk tests kept on the box (oldest removed first). */
    walkTestsKept?: number;
  };
  log?: { level?: string };
  /** Scheduled jobs (issue 12; agent/jobs/index.ts). */
  jobs?: {
    selfTestAt?: string;
    maintenanceAt?: string;
    vacuumFreePages?: number;
    diskMinFreeMb?: number;
    timezone?: string;
  };
  gpio?: { backend?: 'sim' | 'gpiod' | 'onoff'; chip?: string };
  devices: DeviceConfig[];
  /** Modbus buses the doors are on (issue 8; drivers/modbus/types.ts). */
  buses?: BusConfig[];
  /** Optional in the type so configs built in code need not name them; the schema defaults both to []. */
  outputs?: OutputConfig[];
  actions?: ActionRuleConfig[];
  /** Signed commands (issue 10): who may do what; maxSkewSec defaults to 30, maxUnlockSec to 30. */
  commands?: {
    keys: Array<{ id: string; publicKey: string; allow: Array<{ action: string; devices: string[] }> }>;
    maxSkewSec: number;
    maxUnlockSec?: number;
  };
  /** A critical event not acknowledged by the control room within afterSec raises alarm.unacknowledged. */
  escalation?: { afterSec: number };
  /** The box's own health (issue 9), sampled every intervalSec; the schema gives the defaults. */
  health?: { intervalSec: number; diskLowPercent: number; tempHighC: number };
}
