// The consumer's memory across a restart (issue 15). A persistent MQTT session keeps what the
// broker has not delivered; this keeps what the consumer already did with what it delivered:
// which seqs it has seen (dedup, gaps) and which events it still holds for ordering. mqtt.js sends
// a PUBACK right after the 'message' handler returns, and the broker then forgets the message, so
// the handler writes the event's line and then its journal entry, synchronously, before returning:
// - killed after the line, before the entry: no PUBACK went out, the broker sends it again (DUP
//   flag), and it is printed again flagged `possibleDuplicate` — never lost;
// - killed after the entry: the PUBACK may or may not have gone out; a redelivery is a duplicate
//   by seq and dropped.
// The journal holds the sequencer's inputs (events, ticks, with their clock) since the last
// snapshot; the sequencer is deterministic, so replaying them rebuilds its exact state. An event
// released at once needs only (gateway, seq, severity) to be replayed; a held one or an
// announcement is kept whole. A snapshot
// every COMPACT_EVERY entries (generation-numbered files, renamed into place) bounds the replay.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { CentralEvent, Sequencer } from './sequencer.js';

const COMPACT_EVERY = 50_000;

export class Journal {
  private fd: number | undefined;
  private gen = 0;
  private entries = 0;

  constructor(
    private readonly dir: string,
    private readonly name: string,
  ) {}

  private snapFile(): string {
    return join(this.dir, `${this.name}.state.json`);
  }
  private logFile(gen: number): string {
    return join(this.dir, `${this.name}.journal.${gen}`);
  }

  /** Restores the sequencer from the last snapshot and the journal after it. */
  load(seq: Sequencer): { replayed: number } {
    let replayed = 0;
    if (existsSync(this.snapFile())) {
      const snap = JSON.parse(readFileSync(this.snapFile(), 'utf8')) as { gen: number; state: unknown };
      this.gen = snap.gen;
      seq.restore(snap.state);
    }
    const log = this.logFile(this.gen);
    if (existsSync(log)) {
      const lines = readFileSync(log, 'utf8').split('\n');
      for (const line of lines) {
        if (!line) continue;
        const tab = line.indexOf('\t', 2);
        const now = Number(line.slice(2, tab < 0 ? undefined : tab));
        try {
          if (line[0] === 'i') seq.receive(JSON.parse(line.slice(tab + 1)), now);
          else if (line[0] === 'r') {
            const [, , n, severity, gateway] = line.split('\t');
            seq.receive(
              { id: '', seq: Number(n), severity: String(severity), gateway: String(gateway), type: '' },
              now,
            );
          } else if (line[0] === 't') seq.tick(now);
          replayed++;
        } catch {
          // A line torn by a kill mid-write is the last one: nothing after it to lose.
          break;
        }
      }
    }
    // Files of older generations (a kill between a snapshot and the delete) are dead.
    for (let g = this.gen - 1; g >= Math.max(0, this.gen - 2); g--) rmSync(this.logFile(g), { force: true });
    this.fd = openSync(log, 'a');
    this.entries = replayed;
    return { replayed };
  }

  /**
   * After `seq.receive(ev, now)`: the whole payload when a replay needs it (held, or an
   * announcement), else a short line (a write of ~40 bytes instead of ~400: most events).
   */
  record(now: number, ev: CentralEvent, payload: string, seq: Sequencer): void {
    if (seq.lastNeedsPayload) this.input(now, payload, seq);
    else this.write(`r\t${now}\t${ev.seq}\t${ev.severity}\t${ev.gateway}\n`, seq);
  }

  input(now: number, payload: string, seq: Sequencer): void {
    this.write(`i\t${now}\t${payload.includes('\n') ? payload.replace(/\n/g, ' ') : payload}\n`, seq);
  }

  tick(now: number, seq: Sequencer): void {
    this.write(`t\t${now}\n`, seq);
  }

  private pending: string[] = [];

  /** Lines are collected and written by flush(): the caller flushes before any PUBACK can leave. */
  private write(line: string, seq: Sequencer): void {
    if (this.fd === undefined) return;
    this.pending.push(line);
    if (++this.entries >= COMPACT_EVERY) this.snapshot(seq);
  }

  flush(): void {
    if (this.fd === undefined || this.pending.length === 0) return;
    writeSync(this.fd, this.pending.join(''));
    this.pending = [];
  }

  /** Writes the whole state and starts an empty journal (also at a clean stop). */
  snapshot(seq: Sequencer): void {
    if (this.fd === undefined) return;
    this.pending = []; // the snapshot holds their effect
    const next = this.gen + 1;
    const tmp = `${this.snapFile()}.tmp`;
    const fd = openSync(tmp, 'w');
    writeSync(fd, JSON.stringify({ gen: next, state: seq.snapshot() }));
    fsyncSync(fd);
    closeSync(fd);
    closeSync(this.fd);
    this.fd = openSync(this.logFile(next), 'w');
    renameSync(tmp, this.snapFile());
    rmSync(this.logFile(this.gen), { force: true });
    this.gen = next;
    this.entries = 0;
  }

  close(seq: Sequencer): void {
    this.snapshot(seq);
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
