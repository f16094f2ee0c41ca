// Rows handed to the uplink and not yet deleted, with what each is waiting for. Every such row is
// protected from eviction (the broker may have it: announcing it as dropped would be false).
// Only `sent` and `acked` rows hold one of the drain's window slots.
//  - sent:     published on this connection, PUBACK awaited;
//  - acked:    PUBACK received, the delete not yet committed (it still holds its slot, so a crash
//              never resends more than one window);
//  - stale:    published on an earlier connection and not acknowledged: sent again after a
//              reconnect, and protected until then (issue 7: rewind used to drop the protection);
//  - settling: the broker has it or refused it, and the delete or the refusal mark waits for a
//              commit (retried after a failed one): never sent again, holds no slot.

export const SENT = 1;
export const ACKED = 2;
export const STALE = 3;
export const SETTLING = 4;

export interface Flight {
  lane: number;
  bytes: number;
  st: number;
  /** The row's refusal code on disk (0: never refused). */
  refused: number;
  topic: string;
}

export class InFlight {
  private readonly map = new Map<number, Flight>();
  /** Rows holding a window slot (sent or acked). */
  live = 0;

  get size(): number {
    return this.map.size;
  }

  has(seq: number): boolean {
    return this.map.has(seq);
  }

  get(seq: number): Flight | undefined {
    return this.map.get(seq);
  }

  /** The drain is about to publish this row. False: it is already in flight (do not send twice). */
  send(seq: number, lane: number, bytes: number, refused: number, topic: string): boolean {
    const f = this.map.get(seq);
    if (f === undefined) {
      this.map.set(seq, { lane, bytes, st: SENT, refused, topic });
      this.live++;
      return true;
    }
    if (f.st !== STALE) return false;
    f.st = SENT;
    f.refused = refused;
    this.live++;
    return true;
  }

  /** PUBACK: the row waits for its delete. */
  ack(seq: number): Flight | undefined {
    const f = this.map.get(seq);
    if (f === undefined || f.st !== SENT) return undefined;
    f.st = ACKED;
    return f;
  }

  /** A sent row that holds no slot any more and waits for a commit (refusal mark, failed delete). */
  settling(seq: number): Flight | undefined {
    const f = this.map.get(seq);
    if (f === undefined || (f.st !== SENT && f.st !== ACKED)) return undefined;
    f.st = SETTLING;
    this.live--;
    return f;
  }

  /** A sent row given back unsent (retry later): no longer in flight at all. */
  release(seq: number): Flight | undefined {
    const f = this.map.get(seq);
    if (f === undefined || f.st !== SENT) return undefined;
    this.map.delete(seq);
    this.live--;
    return f;
  }

  /** The row's delete or refusal mark committed. */
  done(seq: number): void {
    const f = this.map.get(seq);
    if (f === undefined) return;
    this.map.delete(seq);
    if (f.st === SENT || f.st === ACKED) this.live--;
  }

  /** The connection is gone: unacknowledged rows are sent again later, and stay protected. */
  rewind(): void {
    for (const f of this.map.values()) {
      if (f.st === SENT) f.st = STALE;
      else if (f.st === ACKED) f.st = SETTLING; // the broker has it: deleted, never resent
    }
    this.live = 0;
  }
}
