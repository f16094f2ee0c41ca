// The validated configuration, after defaults (config/wardgate.schema.json is the source of truth
// for what a file may say; these types are what the code may rely on after validation).
import type { ClockConfig } from '../clock.js';
import type { Severity } from '../event.js';

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
}

export type DeviceConfig = PanicButtonConfig;

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
    backoff?: { minMs?: number; maxMs?: number };
    telemetryExpirySec: number;
    healthIntervalSec: number;
    tls?: { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean; servername?: string };
  };
  outbox?: { maxBytes?: number; maxAgeHours?: { normal?: number; low?: number }; checkpointIntervalMs?: number };
  web?: { host?: string; port?: number; tokens?: string[] };
  log?: { level?: string };
  gpio?: { backend?: 'sim' | 'gpiod' | 'onoff'; chip?: string };
  devices: DeviceConfig[];
}
