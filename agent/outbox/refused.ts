// Publishes the broker refused (MQTT 5 PUBACK with a reason code >= 0x80; mqtt.js turns it into a
// publish error carrying the code). Issue 7: the drain treated them as a dropped connection, so a
// refused row kept its window slot and, once the window was full of them, no alarm went out.
// Now a refusal is classified: *permanent* codes mark the row on disk (kept, counted, announced
// once per topic, retried on a slow schedule and on reconnect, always behind the rows the broker
// takes); *retry later* codes (quota, busy) hold that lane briefly and send the row again.
import type { Logger } from 'pino';

/** PUBACK reason codes (MQTT 5 §3.4.2.1, 0x80…0x99) and the ones issue 7 names. */
export const REASONS: Readonly<Record<number, string>> = {
  128: 'unspecified error',
  131: 'implementation specific error',
  135: 'not authorized',
  137: 'server busy',
  144: 'topic name invalid',
  145: 'packet identifier in use',
  149: 'packet too large',
  151: 'quota exceeded',
  153: 'payload format invalid',
};

/** The broker will take these later without any change on its side. */
const RETRY_LATER = new Set([0x89, 0x91, 0x97]);

export type RefusalKind = 'permanent' | 'later';

/** Unknown codes >= 0x80 count as permanent: a refused row must never hold a window slot. */
export function refusalKind(code: number): RefusalKind | undefined {
  if (!Number.isInteger(code) || code < 0x80) return undefined;
  return RETRY_LATER.has(code) ? 'later' : 'permanent';
}

export function reasonName(code: number): string {
  return REASONS[code] ?? `reason code 0x${code.toString(16)}`;
}

/** The PUBACK reason code carried by a publish error (the uplink wraps mqtt.js's error as `cause`). */
export function reasonCodeOf(err: unknown): number | undefined {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 3; depth++) {
    const o = e as { reasonCode?: unknown; code?: unknown; cause?: unknown };
    if (typeof o.reasonCode === 'number') return o.reasonCode;
    if (typeof o.code === 'number') return o.code;
    e = o.cause;
  }
  return undefined;
}

/** What the page, `/api/status` and `health` show for one refused topic. */
export interface TopicRefusal {
  topic: string;
  reasonCode: number;
  reason: string;
  /** A critical row was refused on this topic: the loudest error the box raises. */
  critical: boolean;
  /** Refusals seen on this topic since it was first refused (retries included). */
  refusals: number;
  since: string;
  lastAt: string;
}

export interface RefusalMark {
  seq: number;
  lane: number;
  code: number;
  topic: string;
}

/** A topic's refusals in one settle, for its `gateway.publish_rejected` announcement. */
export interface RefusalGroup {
  topic: string;
  reasonCode: number;
  seqFrom: number;
  seqTo: number;
  count: number;
  critical: boolean;
}

export function groupByTopic(marks: readonly RefusalMark[]): RefusalGroup[] {
  const groups = new Map<string, RefusalGroup>();
  for (const m of marks) {
    const g = groups.get(m.topic);
    if (!g) {
      groups.set(m.topic, {
        topic: m.topic,
        reasonCode: m.code,
        seqFrom: m.seq,
        seqTo: m.seq,
        count: 1,
        critical: m.lane === 0,
      });
      continue;
    }
    g.seqFrom = Math.min(g.seqFrom, m.seq);
    g.seqTo = Math.max(g.seqTo, m.seq);
    g.count++;
    g.critical ||= m.lane === 0;
  }
  return [...groups.values()];
}

/** Per-topic refusal state for this process: announced once per topic until the topic is taken again. */
export class RefusalBook {
  /** Keyed by the stored topic suffix; shown with the full topic. */
  private readonly topics = new Map<string, TopicRefusal>();
  /** Refusals (permanent) and deferrals (retry later) seen since start. */
  refusedTotal = 0;
  deferredTotal = 0;

  constructor(private readonly fullTopic: (suffix: string) => string = (t) => t) {}

  isAnnounced(topic: string): boolean {
    return this.topics.has(topic);
  }

  /** Count a topic's refusals; with `log`, this is its announcement: say it loudly, once. */
  record(g: RefusalGroup, now: number, log?: Logger): void {
    if (log) {
      const fields = {
        code: 'WG_ERR_UPLINK_PUBLISH_REFUSED',
        topic: this.fullTopic(g.topic),
        reasonCode: g.reasonCode,
        seqFrom: g.seqFrom,
        seqTo: g.seqTo,
        count: g.count,
      };
      // A refused alarm is the loudest error this box raises.
      if (g.critical) log.error(fields, `broker refused a CRITICAL event: ${reasonName(g.reasonCode)}`);
      else log.warn(fields, `broker refused events: ${reasonName(g.reasonCode)}`);
    }
    const at = new Date(now).toISOString();
    const t = this.topics.get(g.topic);
    if (t) {
      t.reasonCode = g.reasonCode;
      t.reason = reasonName(g.reasonCode);
      t.critical ||= g.critical;
      t.refusals += g.count;
      t.lastAt = at;
    } else {
      this.topics.set(g.topic, {
        topic: this.fullTopic(g.topic),
        reasonCode: g.reasonCode,
        reason: reasonName(g.reasonCode),
        critical: g.critical,
        refusals: g.count,
        since: at,
        lastAt: at,
      });
    }
  }

  /** The broker took a row on this topic again: a later refusal is news again. */
  cleared(topic: string): TopicRefusal | undefined {
    const t = this.topics.get(topic);
    if (t) this.topics.delete(topic);
    return t;
  }

  list(): TopicRefusal[] {
    return [...this.topics.values()];
  }
}
