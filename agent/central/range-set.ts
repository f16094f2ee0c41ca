// A set of seqs kept as sorted, disjoint, inclusive [from, to] runs. A gateway's seqs arrive almost
// contiguously, so a whole day of events is a handful of runs: this is what keeps the consumer's
// dedup window small however many events it has seen (issue 15).

export type Run = [number, number];

export class RangeSet {
  constructor(readonly runs: Run[] = []) {}

  get size(): number {
    return this.runs.length;
  }

  /** Index of the first run whose end is ≥ seq (binary search). */
  private at(seq: number): number {
    let lo = 0;
    let hi = this.runs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.runs[mid] as Run)[1] < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  has(seq: number): boolean {
    const r = this.runs[this.at(seq)];
    return r !== undefined && r[0] <= seq;
  }

  add(from: number, to = from): void {
    if (to < from) return;
    const last = this.runs[this.runs.length - 1];
    if (last && from === last[1] + 1) {
      last[1] = to; // the common case: the next seq of a gateway
      return;
    }
    let i = this.at(from - 1);
    let a = from;
    let b = to;
    // Swallow every run that overlaps or touches [a, b].
    let j = i;
    while (j < this.runs.length && (this.runs[j] as Run)[0] <= b + 1) {
      const r = this.runs[j] as Run;
      a = Math.min(a, r[0]);
      b = Math.max(b, r[1]);
      j++;
    }
    if (i > this.runs.length) i = this.runs.length;
    this.runs.splice(i, j - i, [a, b]);
  }

  remove(from: number, to = from): void {
    if (to < from) return;
    const i = this.at(from);
    const out: Run[] = [];
    let j = i;
    while (j < this.runs.length && (this.runs[j] as Run)[0] <= to) {
      const r = this.runs[j] as Run;
      if (r[0] < from) out.push([r[0], from - 1]);
      if (r[1] > to) out.push([to + 1, r[1]]);
      j++;
    }
    this.runs.splice(i, j - i, ...out);
  }

  /** The parts of [from, to] this set does not hold, as runs. */
  missing(from: number, to: number): Run[] {
    const out: Run[] = [];
    let cur = from;
    for (let i = this.at(from); i < this.runs.length && cur <= to; i++) {
      const r = this.runs[i] as Run;
      if (r[0] > to) break;
      if (r[0] > cur) out.push([cur, r[0] - 1]);
      cur = Math.max(cur, r[1] + 1);
    }
    if (cur <= to) out.push([cur, to]);
    return out;
  }

  /** Forgets everything below `floor` (the dedup window's lower edge). */
  dropBelow(floor: number): void {
    const i = this.at(floor);
    this.runs.splice(0, i);
    const first = this.runs[0];
    if (first && first[0] < floor) first[0] = floor;
  }
}

/** Parts of [from, to] held by none of the sets. */
export function missingFromAll(sets: RangeSet[], from: number, to: number): Run[] {
  let parts: Run[] = [[from, to]];
  for (const s of sets) parts = parts.flatMap(([a, b]) => s.missing(a, b));
  return parts;
}
