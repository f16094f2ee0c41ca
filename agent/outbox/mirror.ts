// The one owner of the outbox's in-memory mirror of its database: per-lane row count, bytes,
// refused rows, highest seq, and the last seq handed out. A transaction stages its effects here
// (`begin` … `commit`), and they become visible only after SQLite's COMMIT returned; a failed
// transaction calls `abort` and the mirror is exactly as before (issue 7: counters that drifted
// after a failed COMMIT made a lane read 0, so its rows were never offered, and skipped a seq).
// Every seq comes from `nextSeq`, which extends the fsynced reservation first: no path can add a
// row whose seq a later start could hand out again.
import type Database from 'better-sqlite3';
import type { SeqReservation } from './db.js';

export const LANES = 4;

export class LaneMirror {
  /** Last seq committed. */
  seq = 0;
  readonly count = new Array<number>(LANES).fill(0);
  readonly bytes = new Array<number>(LANES).fill(0);
  /** Rows the broker refused (a subset of `count`). */
  readonly refused = new Array<number>(LANES).fill(0);
  /** Highest seq ever committed in each lane: rows beyond the drain's cursor exist only below it. */
  readonly tail = new Array<number>(LANES).fill(0);

  // Staged effects of the open transaction (preallocated: the alarm path allocates nothing here).
  private open = false;
  private sSeq = 0;
  private readonly dCount = new Array<number>(LANES).fill(0);
  private readonly dBytes = new Array<number>(LANES).fill(0);
  private readonly dRefused = new Array<number>(LANES).fill(0);
  private readonly sTail = new Array<number>(LANES).fill(0);
  /** The open transaction removed rows or marked refusals (not only added rows). */
  private changedRows = false;

  constructor(private readonly reservation: SeqReservation) {}

  begin(): void {
    if (this.open) throw new Error('outbox mirror: transaction already open');
    this.open = true;
    this.sSeq = this.seq;
    this.dCount.fill(0);
    this.dBytes.fill(0);
    this.dRefused.fill(0);
    this.sTail.fill(0);
    this.changedRows = false;
  }

  /** The next seq, reserved (fsynced side file) before it is used. Inside a transaction only. */
  nextSeq(): number {
    const seq = ++this.sSeq;
    if (seq > this.reservation.upTo) this.reservation.cover(seq);
    return seq;
  }

  added(lane: number, seq: number, bytes: number): void {
    this.dCount[lane] = (this.dCount[lane] as number) + 1;
    this.dBytes[lane] = (this.dBytes[lane] as number) + bytes;
    if (seq > (this.sTail[lane] as number)) this.sTail[lane] = seq;
  }

  removed(lane: number, rows: number, bytes: number, refused: number): void {
    this.changedRows = true;
    this.dCount[lane] = (this.dCount[lane] as number) - rows;
    this.dBytes[lane] = (this.dBytes[lane] as number) - bytes;
    this.dRefused[lane] = (this.dRefused[lane] as number) - refused;
  }

  markedRefused(lane: number, rows: number): void {
    this.changedRows = true;
    this.dRefused[lane] = (this.dRefused[lane] as number) + rows;
  }

  /** Values as they will be once the open transaction commits (what the meta table records). */
  countAfter(lane: number): number {
    return (this.count[lane] as number) + (this.open ? (this.dCount[lane] as number) : 0);
  }

  bytesAfter(lane: number): number {
    return (this.bytes[lane] as number) + (this.open ? (this.dBytes[lane] as number) : 0);
  }

  totalBytesAfter(): number {
    let t = 0;
    for (let l = 0; l < LANES; l++) t += this.bytesAfter(l);
    return t;
  }

  /**
   * The open transaction only added rows (with seqs above everything before it): the meta row may
   * stay as it is, since rows past its last_seq are counted at open (OutboxCore).
   */
  get onlyAdded(): boolean {
    return this.open && !this.changedRows;
  }

  get seqAfter(): number {
    return this.open ? this.sSeq : this.seq;
  }

  commit(): void {
    if (!this.open) return;
    this.open = false;
    this.seq = this.sSeq;
    for (let l = 0; l < LANES; l++) {
      this.count[l] = (this.count[l] as number) + (this.dCount[l] as number);
      this.bytes[l] = (this.bytes[l] as number) + (this.dBytes[l] as number);
      this.refused[l] = (this.refused[l] as number) + (this.dRefused[l] as number);
      if ((this.sTail[l] as number) > (this.tail[l] as number)) this.tail[l] = this.sTail[l] as number;
    }
  }

  /** The transaction rolled back: nothing it staged happened. */
  abort(): void {
    this.open = false;
  }

  get inTransaction(): boolean {
    return this.open;
  }

  /**
   * At open: counts from the meta row plus the rows committed after it was last written (a range
   * of seqs past its last_seq, at most one reservation block: no table scan, so a 1M-row backlog
   * opens fast), refused rows from their partial index, tails from the lane index.
   */
  init(db: Database.Database, meta: (k: string) => number, seq: number): void {
    this.open = false;
    this.seq = seq;
    const laneTail = db.prepare<[number], { m: number | null }>('SELECT MAX(seq) AS m FROM events WHERE lane = ?');
    for (let l = 0; l < LANES; l++) {
      this.count[l] = meta(`count_${l}`);
      this.bytes[l] = meta(`bytes_${l}`);
      this.refused[l] = 0;
      this.tail[l] = laneTail.get(l)?.m ?? 0;
    }
    const refused = db.prepare<[], { lane: number; n: number }>(
      'SELECT lane, COUNT(*) AS n FROM events WHERE refused != 0 GROUP BY lane',
    );
    for (const r of refused.all()) if (r.lane >= 0 && r.lane < LANES) this.refused[r.lane] = r.n;
  }

  /** Re-read everything from the table (whenever the table and the mirror disagree). */
  load(db: Database.Database, lastSeq: number): void {
    this.open = false;
    this.seq = Math.max(this.seq, lastSeq);
    this.count.fill(0);
    this.bytes.fill(0);
    this.refused.fill(0);
    const rows = db
      .prepare<[], { lane: number; n: number; b: number; r: number; m: number }>(
        `SELECT lane, COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b, COALESCE(SUM(refused != 0), 0) AS r,
                MAX(seq) AS m FROM events GROUP BY lane`,
      )
      .all();
    for (const r of rows) {
      if (r.lane < 0 || r.lane >= LANES) continue;
      this.count[r.lane] = r.n;
      this.bytes[r.lane] = r.b;
      this.refused[r.lane] = r.r;
      if (r.m > (this.tail[r.lane] as number)) this.tail[r.lane] = r.m;
      if (r.m > this.seq) this.seq = r.m;
    }
  }

  get depth(): number {
    let n = 0;
    for (let l = 0; l < LANES; l++) n += this.count[l] as number;
    return n;
  }

  get refusedTotal(): number {
    let n = 0;
    for (let l = 0; l < LANES; l++) n += this.refused[l] as number;
    return n;
  }
}
