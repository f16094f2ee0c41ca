// What `wardgate watch --json` must show (issue 15), checked from its output lines alone plus the
// ids the gateways said they accepted: exactly once, in order per gateway and lane (per consumer
// process stream, across its restarts), every seq of every gateway either delivered or inside an
// announced range, each eviction's ranges reported as announced, no unexplained gap.
import type { ConsumerRecord } from '../agent/central/consumer.js';

export interface WatchVerdict {
  released: number;
  unique: number;
  /** Repeats not flagged possibleDuplicate: must be 0. */
  duplicates: number;
  /** Repeats flagged possibleDuplicate (a kill between a printed line and its journal entry). */
  flaggedDuplicates: number;
  orderViolations: number;
  late: number;
  missingAccepted: number;
  unaccountedSeqs: number;
  unexplainedGaps: number;
  announcedRanges: number;
  evictionRangesNotReported: number;
  heldDrops: number;
  problems: string[];
}

export function checkWatch(
  streams: ConsumerRecord[][],
  accepted: Map<string, { gateway: string; seq: number }>,
): WatchVerdict {
  const seenIds = new Set<string>();
  const seqsOf = new Map<string, Set<number>>();
  let released = 0;
  let duplicates = 0;
  let flagged = 0;
  let disorder = 0;
  let late = 0;
  const announced: Array<{ gateway: string; from: number; to: number }> = [];
  const evictionRanges: Array<{ gateway: string; from: number; to: number }> = [];
  let unexplained = 0;
  let heldDrops = 0;
  for (const stream of streams) {
    const last = new Map<string, number>();
    for (const r of stream) {
      if (r.kind === 'gap') {
        if (r.status === 'announced') announced.push(r);
        else unexplained++;
        continue;
      }
      if (r.kind === 'dropped') heldDrops++;
      if (r.kind !== 'event') continue;
      released++;
      if (r.late) late++;
      if (seenIds.has(r.event.id)) {
        if (r.possibleDuplicate) flagged++;
        else duplicates++;
        continue;
      }
      seenIds.add(r.event.id);
      const s = seqsOf.get(r.gateway) ?? new Set<number>();
      s.add(r.seq);
      seqsOf.set(r.gateway, s);
      const k = `${r.gateway}/${r.lane}`;
      if (r.seq <= (last.get(k) ?? 0)) disorder++;
      last.set(k, r.seq);
      const data = r.event.data as { ranges?: Array<[number, number]> } | undefined;
      if (r.event.type === 'gateway.outbox_evicted')
        for (const [from, to] of data?.ranges ?? []) evictionRanges.push({ gateway: r.gateway, from, to });
    }
  }
  const inAnnounced = (g: string, seq: number) =>
    announced.some((a) => a.gateway === g && seq >= a.from && seq <= a.to);
  let missing = 0;
  for (const [id, a] of accepted) if (!seenIds.has(id) && !inAnnounced(a.gateway, a.seq)) missing++;
  let unaccounted = 0;
  for (const [g, seqs] of seqsOf) {
    const top = Math.max(...seqs);
    for (let s = 1; s <= top; s++) if (!seqs.has(s) && !inAnnounced(g, s)) unaccounted++;
  }
  const notReported = evictionRanges.filter(
    (e) => !announced.some((a) => a.gateway === e.gateway && a.from === e.from && a.to === e.to),
  ).length;
  const problems: string[] = [];
  if (duplicates) problems.push(`${duplicates} events printed twice without a possibleDuplicate flag`);
  if (disorder) problems.push(`${disorder} events out of seq order within a gateway lane`);
  if (missing) problems.push(`${missing} accepted events neither printed nor announced`);
  if (unaccounted) problems.push(`${unaccounted} seqs neither printed nor announced`);
  if (unexplained) problems.push(`${unexplained} unexplained gaps`);
  if (notReported) problems.push(`${notReported} eviction ranges not reported as announced gaps`);
  return {
    released,
    unique: seenIds.size,
    duplicates,
    flaggedDuplicates: flagged,
    orderViolations: disorder,
    late,
    missingAccepted: missing,
    unaccountedSeqs: unaccounted,
    unexplainedGaps: unexplained,
    announcedRanges: announced.length,
    evictionRangesNotReported: notReported,
    heldDrops,
    problems,
  };
}
