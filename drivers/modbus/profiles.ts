// Door register maps are data (CONVENTIONS: EdgeX device profiles): config/profiles/*.yaml, each
// with the maker's manual cited. This file only loads and checks them, and resolves a door's map
// (profile + door number, or an inline map).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { DoorConfig, DoorMap, DoorPointMap } from '../../agent/devices/door-config.js';
import { shippedFile } from '../../agent/paths.js';
import { isBitTable, TABLES, type Table } from './points.js';

export interface DoorProfile {
  id: string;
  description?: string;
  source?: string;
  doors: DoorMap[];
}

const SIGNALS = ['open', 'locked', 'rex', 'tamper', 'release'] as const;

/** Problems of one point map (`where: message`), empty when it is usable. */
export function pointMapProblems(where: string, m: unknown, output: boolean): string[] {
  const p = m as Partial<DoorPointMap> | undefined;
  if (!p || typeof p !== 'object') return [`${where}: must be {table, address, bit?, activeLow?}`];
  const out: string[] = [];
  if (!TABLES.includes(p.table as Table)) out.push(`${where}.table: must be one of di, coil, ir, hr`);
  else if (output && p.table !== 'coil' && p.table !== 'hr') out.push(`${where}.table: an output must be coil or hr`);
  if (!Number.isInteger(p.address) || (p.address as number) < 0 || (p.address as number) > 65535)
    out.push(`${where}.address: must be an integer 0-65535`);
  if (p.bit !== undefined && (!Number.isInteger(p.bit) || p.bit < 0 || p.bit > 15 || isBitTable(p.table as Table)))
    out.push(`${where}.bit: only for ir/hr, 0-15`);
  return out;
}

export function doorMapProblems(where: string, m: unknown): string[] {
  const map = m as Partial<Record<(typeof SIGNALS)[number], unknown>> | undefined;
  if (!map || typeof map !== 'object') return [`${where}: must be a map of open, locked, rex, tamper, release`];
  const out: string[] = [];
  if (map.open === undefined) out.push(`${where}.open: is required`);
  for (const k of Object.keys(map))
    if (!SIGNALS.includes(k as (typeof SIGNALS)[number])) out.push(`${where}.${k}: unknown signal`);
  for (const s of SIGNALS)
    if (map[s] !== undefined) out.push(...pointMapProblems(`${where}.${s}`, map[s], s === 'release'));
  return out;
}

/** Every profile in `dir` (default: the shipped config/profiles), with the problems found. */
export function loadProfiles(dir = shippedFile('config', 'profiles')): {
  profiles: Map<string, DoorProfile>;
  problems: string[];
} {
  const profiles = new Map<string, DoorProfile>();
  const problems: string[] = [];
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  } catch (err) {
    problems.push(`profiles: cannot read ${dir}: ${(err as Error).message}`);
  }
  for (const f of files) {
    try {
      const doc = parse(readFileSync(join(dir, f), 'utf8')) as Partial<DoorProfile>;
      const id = String(doc?.id ?? f.replace(/\.yaml$/, ''));
      const doors = Array.isArray(doc?.doors) ? doc.doors : [];
      const own = doors.length === 0 ? [`profile ${id}: doors: at least one door map`] : [];
      doors.forEach((d, i) => {
        own.push(...doorMapProblems(`profile ${id}: doors[${i}]`, d));
      });
      problems.push(...own);
      if (own.length === 0) profiles.set(id, { id, description: doc.description, source: doc.source, doors });
    } catch (err) {
      problems.push(`profile ${f}: ${(err as Error).message}`);
    }
  }
  return { profiles, problems };
}

/** The map a door uses, or why it has none. */
export function resolveDoorMap(
  cfg: Pick<DoorConfig, 'profile' | 'door' | 'map'>,
  profiles: Map<string, DoorProfile>,
): DoorMap | string {
  if (cfg.map) return cfg.map;
  if (!cfg.profile) return 'needs a profile or an inline map';
  const p = profiles.get(cfg.profile);
  if (!p) return `unknown profile ${JSON.stringify(cfg.profile)} (known: ${[...profiles.keys()].sort().join(', ')})`;
  const n = cfg.door ?? 1;
  const m = p.doors[n - 1];
  if (!m) return `profile ${p.id} has ${p.doors.length} door(s); door ${n} does not exist`;
  return m;
}
