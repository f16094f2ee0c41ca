// The daily self-test (issue 12): every device's availability, every driver's state and last
// success, the outbox and its disk, the clock and the uplink, as pass/fail items in one
// `gateway.self_test` event and on the page. A failed item names what a technician should look at.
import { statfsSync } from 'node:fs';

export interface SelfTestItem {
  item: string;
  ok: boolean;
  detail: string;
}

export interface SelfTestReport {
  at: string;
  ok: boolean;
  failed: number;
  items: SelfTestItem[];
}

/** What the self-test reads; the Agent provides it (agent/jobs/index.ts). */
export interface SelfTestSubject {
  devices(): Array<{ id: string; online: boolean; reason?: string }>;
  drivers(): Record<
    string,
    { state: string; up: boolean; restarts: number; lastErrorCode?: string; lastError?: string }
  >;
  /** When each driver last delivered a reading (or started, if none yet). */
  lastSuccess(driver: string): number | undefined;
  outbox(): {
    diskLow: boolean;
    alarmsOverCap: boolean;
    quarantined: boolean;
    depth: number;
    oldestMs: number | undefined;
  };
  dataDir: string;
  clockSynced(): boolean;
  uplinkConnected(): boolean;
}

export interface SelfTestOptions {
  diskMinFreeMb: number;
  now?: number;
  /** statfs, replaceable in tests. */
  freeBytes?: (dir: string) => number;
}

const ago = (ms: number) => (ms < 120_000 ? `${Math.round(ms / 1000)} s ago` : `${Math.round(ms / 60_000)} min ago`);

export function runSelfTest(s: SelfTestSubject, opts: SelfTestOptions): SelfTestReport {
  const now = opts.now ?? Date.now();
  const items: SelfTestItem[] = [];
  for (const d of s.devices()) {
    items.push({
      item: `device:${d.id}`,
      ok: d.online,
      detail: d.online ? 'online' : `offline: ${d.reason ?? 'no reason given'}`,
    });
  }
  for (const [name, h] of Object.entries(s.drivers())) {
    const last = s.lastSuccess(name);
    const ok = h.up && (h.state === 'running' || h.state === 'degraded');
    const parts = [
      h.state,
      `restarts ${h.restarts}`,
      last === undefined ? 'no success yet' : `last success ${ago(now - last)}`,
    ];
    if (!ok && h.lastErrorCode) parts.push(`${h.lastErrorCode}: ${h.lastError ?? ''}`.trim());
    items.push({ item: `driver:${name}`, ok, detail: parts.join(', ') });
  }
  const o = s.outbox();
  const outboxProblems = [
    o.diskLow ? 'disk refuses writes (WG_ERR_OUTBOX_DISK_FULL)' : '',
    o.alarmsOverCap ? 'over its byte cap with alarms only' : '',
    o.quarantined ? 'a damaged database was quarantined at start' : '',
  ].filter(Boolean);
  items.push({
    item: 'outbox',
    ok: outboxProblems.length === 0,
    detail:
      outboxProblems.join('; ') ||
      `${o.depth} events waiting${o.oldestMs !== undefined ? `, oldest ${ago(now - o.oldestMs)}` : ''}`,
  });
  let free: number | undefined;
  try {
    free = (opts.freeBytes ?? statFree)(s.dataDir);
  } catch (err) {
    items.push({ item: 'disk', ok: false, detail: `cannot read free space of ${s.dataDir}: ${String(err)}` });
  }
  if (free !== undefined) {
    const mb = Math.floor(free / 1048576);
    items.push({
      item: 'disk',
      ok: mb >= opts.diskMinFreeMb,
      detail: `${mb} MiB free in ${s.dataDir} (minimum ${opts.diskMinFreeMb})`,
    });
  }
  const synced = s.clockSynced();
  items.push({
    item: 'clock',
    ok: synced,
    detail: synced ? `synchronised, ${new Date(now).toISOString()}` : 'not synchronised (NTP)',
  });
  const up = s.uplinkConnected();
  items.push({ item: 'uplink', ok: up, detail: up ? 'connected' : 'not connected to any broker' });
  const failed = items.filter((i) => !i.ok).length;
  return { at: new Date(now).toISOString(), ok: failed === 0, failed, items };
}

function statFree(dir: string): number {
  const st = statfsSync(dir);
  return st.bavail * st.bsize;
}
