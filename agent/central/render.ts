// The control room's terminal view of `wardgate watch`: alarms newest first (acknowledged ones
// say who and whether the LED lit), gateways that are offline or stale, gaps. Plain ANSI
// (clear + redraw at most every 200 ms): readable over ssh, no TUI dependency.
import type { ConsumerRecord } from './consumer.js';
import type { CentralEvent } from './sequencer.js';

interface Alarm {
  ev: CentralEvent;
  ack?: { by: string; led: boolean };
  pending?: string;
}

const RED = '\x1b[31;1m';
const YEL = '\x1b[33m';
const GRN = '\x1b[32m';
const DIM = '\x1b[2m';
const OFF = '\x1b[0m';
const MAX_ALARMS = 15;

export class AlarmBoard {
  readonly alarms: Alarm[] = [];
  private gateways = new Map<string, { state: string; reason?: string }>();
  private gaps: string[] = [];
  private notes: string[] = [];
  private counts = { events: 0, duplicatesFlagged: 0, late: 0 };
  selected = 0;

  apply(r: ConsumerRecord): void {
    switch (r.kind) {
      case 'event': {
        this.counts.events++;
        if (r.late) this.counts.late++;
        if (r.possibleDuplicate) this.counts.duplicatesFlagged++;
        const ev = r.event;
        if (ev.type === 'alarm.acknowledged') {
          const a = this.alarms.find((x) => x.ev.id === ev.data?.alarmId);
          if (a) {
            a.ack = { by: String(ev.data?.by ?? '?'), led: ev.data?.ledLit === true };
            delete a.pending;
          }
        } else if (ev.severity === 'critical' || ev.severity === 'high') {
          this.alarms.unshift({ ev });
          this.alarms.length = Math.min(this.alarms.length, MAX_ALARMS);
        }
        return;
      }
      case 'gap':
        this.gaps.unshift(
          `${r.gateway} seq ${r.from}–${r.to} ${r.status === 'announced' ? `announced (${r.reason})` : `${RED}UNEXPLAINED${OFF}`}`,
        );
        this.gaps.length = Math.min(this.gaps.length, 5);
        return;
      case 'dropped':
        this.gaps.unshift(`${r.gateway} ${r.count} held telemetry events dropped (announced, no seqs)`);
        this.gaps.length = Math.min(this.gaps.length, 5);
        return;
      case 'gateway':
        this.gateways.set(r.gateway, { state: r.state, ...(r.reason ? { reason: r.reason } : {}) });
        return;
      case 'cmd-result': {
        const a = this.alarms.find((x) => x.pending === r.result.commandId);
        if (a && r.result.ok !== true) a.pending = `refused: ${String(r.result.reason ?? '?')}`;
        return;
      }
      default:
        this.note(
          r.kind === 'invalid'
            ? `invalid message on ${r.topic}: ${r.error}`
            : `broker: ${r.state}${r.error ? ` (${r.error})` : ''}`,
        );
    }
  }

  note(s: string): void {
    this.notes.unshift(s);
    this.notes.length = Math.min(this.notes.length, 3);
  }

  markPending(index: number, commandId: string): void {
    const a = this.alarms[index];
    if (a) a.pending = commandId;
  }

  render(canAck: boolean): string {
    const lines = [`wardgate watch — ${this.counts.events} events, ${this.gateways.size} gateways`, ''];
    lines.push('ALARMS');
    if (this.alarms.length === 0) lines.push(`  ${DIM}none${OFF}`);
    this.alarms.forEach((a, i) => {
      const e = a.ev;
      const colour = e.severity === 'critical' ? RED : YEL;
      const state = a.ack
        ? `${GRN}acknowledged by ${a.ack.by}${a.ack.led ? ', LED lit' : ''}${OFF}`
        : a.pending
          ? `${DIM}${a.pending.startsWith('refused') ? a.pending : 'acknowledging…'}${OFF}`
          : '';
      const where = typeof e.data?.location === 'string' ? e.data.location : e.device;
      const mark = canAck && i === this.selected ? '>' : ' ';
      lines.push(
        `${mark}${i + 1}. ${colour}${e.type}${OFF} ${String(where)} (${e.gateway}, seq ${e.seq}) ${String(e.ts ?? '')} ${state}`,
      );
    });
    const down = [...this.gateways].filter(([, g]) => g.state !== 'online');
    lines.push('', `GATEWAYS: ${this.gateways.size - down.length} online, ${down.length} not`);
    for (const [name, g] of down.slice(0, 10))
      lines.push(`  ${RED}${name} ${g.state}${OFF}${g.reason ? ` (${g.reason})` : ''}`);
    if (this.gaps.length > 0) lines.push('', 'GAPS', ...this.gaps.map((g) => `  ${g}`));
    if (this.notes.length > 0) lines.push('', ...this.notes.map((n) => `${DIM}${n}${OFF}`));
    lines.push(
      '',
      canAck ? 'keys: 1-9 select, a acknowledge, q quit' : 'q quit (acknowledge: --ack-key FILE --key-id ID)',
    );
    return `\x1b[H\x1b[2J${lines.join('\n')}\n`;
  }
}
