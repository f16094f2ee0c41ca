// What changed between two configs, for a live reload (issue 12): which sections, which list
// entries (by id) were added, removed or changed, and which keys. Values are quoted only where
// agent/config/redact.ts allows (never a password, token, key or a URL's password).
import { redactedData } from './redact.js';

export interface ConfigChange {
  section: string;
  /** A list entry's id (devices, outputs, ...) or index (rules without ids). */
  id?: string;
  op: 'added' | 'removed' | 'changed';
  /** Changed keys, as paths inside the section or entry, each with what may be shown of the values. */
  keys?: Array<{ path: string; from?: string; to?: string }>;
}

type Json = unknown;

const isObj = (v: Json): v is Record<string, Json> => typeof v === 'object' && v !== null && !Array.isArray(v);
const same = (a: Json, b: Json) => JSON.stringify(a) === JSON.stringify(b);

function leafChanges(a: Json, b: Json, path: string, out: NonNullable<ConfigChange['keys']>, full: string): void {
  if (same(a, b)) return;
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      leafChanges(a[k], b[k], path ? `${path}.${k}` : k, out, full ? `${full}.${k}` : k);
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    // Element by element, so that redaction sees each value with its path (web.tokens[0], a
    // broker URL with its password).
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      leafChanges(a[i], b[i], `${path}[${i}]`, out, `${full}[${i}]`);
    }
    return;
  }
  const from = a === undefined ? undefined : redactedData(full, a);
  const to = b === undefined ? undefined : redactedData(full, b);
  out.push({
    path,
    ...(a === undefined ? {} : { from: from ?? '[redacted]' }),
    ...(b === undefined ? {} : { to: to ?? '[redacted]' }),
  });
}

const keyed = (v: Json): v is Array<{ id: string }> =>
  Array.isArray(v) && v.every((e) => isObj(e) && typeof e.id === 'string');

export function diffConfig(before: Record<string, Json>, after: Record<string, Json>): ConfigChange[] {
  const changes: ConfigChange[] = [];
  for (const section of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[section];
    const b = after[section];
    if (same(a, b)) continue;
    if ((a === undefined || keyed(a)) && (b === undefined || keyed(b)) && (Array.isArray(a) || Array.isArray(b))) {
      const old = new Map((a ?? []).map((e) => [e.id, e]));
      const neu = new Map((b ?? []).map((e) => [e.id, e]));
      for (const [id, e] of old) {
        const n = neu.get(id);
        if (n === undefined) changes.push({ section, id, op: 'removed' });
        else if (!same(e, n)) {
          const keys: NonNullable<ConfigChange['keys']> = [];
          leafChanges(e, n, '', keys, `${section}[${id}]`);
          changes.push({ section, id, op: 'changed', keys });
        }
      }
      for (const id of neu.keys()) if (!old.has(id)) changes.push({ section, id, op: 'added' });
      continue;
    }
    if (a === undefined) changes.push({ section, op: 'added' });
    else if (b === undefined) changes.push({ section, op: 'removed' });
    else {
      const keys: NonNullable<ConfigChange['keys']> = [];
      leafChanges(a, b, '', keys, section);
      changes.push({ section, op: 'changed', keys });
    }
  }
  return changes;
}
