// Exact seq ranges of evicted rows, so a consumer can tell an announced gap from a lost message.

/** Sorted, inclusive [from, to] runs of the given seqs. */
export function toRanges(seqs: Iterable<number>): Array<[number, number]> {
  const sorted = [...seqs].sort((a, b) => a - b);
  const out: Array<[number, number]> = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s === last[1] + 1) last[1] = s;
    else if (!last || s > last[1]) out.push([s, s]);
  }
  return out;
}

export function rangesContain(ranges: Array<[number, number]>, seq: number): boolean {
  return ranges.some(([a, b]) => seq >= a && seq <= b);
}
