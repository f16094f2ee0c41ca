// Active alarms (agent/alarms.ts), the walk test's marking and keeping, the recent-events rings,
// the report's escaping and CSV, the config view's redaction.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Alarms } from '../../agent/alarms.js';
import type { WgEvent } from '../../agent/event.js';
import { EventHistory } from '../../agent/history.js';
import { createLogger } from '../../agent/log.js';
import { WalkTests } from '../../agent/walktest.js';
import { REDACTED, redactConfig } from '../../agent/web/config-view.js';
import { translator } from '../../agent/web/i18n.js';
import { csvCell, reportCsv, reportHtml } from '../../agent/web/report.js';

let seq = 0;
function ev(device: string, type: string, severity: WgEvent['severity'] = 'critical', data = {}): WgEvent {
  seq++;
  return {
    id: `id-${seq}`,
    seq,
    gateway: 'gw',
    site: 'site',
    device,
    deviceType: device === 'leak' ? 'input' : 'panic-button',
    type: type as WgEvent['type'],
    severity,
    ts: new Date(1_800_000_000_000 + seq).toISOString(),
    clock: { synced: true, bootId: 'b', uptimeMs: seq },
    data,
  };
}

describe('active alarms', () => {
  it('raise on a press, clear on release; the LED and the control room are kept apart', () => {
    let led = { on: false };
    const a = new Alarms((id) => (id === 'p1' ? { name: 'Triage', location: 'A&E', led: () => led } : undefined));
    expect(a.onEvents([ev('p1', 'panic.pressed')])).toBe(true);
    led = { on: true }; // the local ack-led rule lit it: not a control-room acknowledgement
    const [alarm] = a.list();
    expect(alarm).toMatchObject({ device: 'p1', name: 'Triage', localLed: { on: true }, controlRoom: null });
    expect(a.acknowledge({ seq: alarm?.seq }, 'J. Doe', { commandId: 'c1' })?.controlRoom).toMatchObject({
      by: 'J. Doe',
      commandId: 'c1',
    });
    expect(a.acknowledge({ id: alarm?.id }, 'someone else')?.controlRoom?.by).toBe('J. Doe'); // first one kept
    expect(a.acknowledge({ id: 'unknown' }, 'x')).toBeUndefined();
    a.onEvents([ev('p1', 'panic.released', 'high')]);
    expect(a.list()).toEqual([]);
  });

  it('critical first, then oldest; a repeat keeps its first "since"; generic inputs by their configured events', () => {
    const a = new Alarms((id) =>
      id === 'leak' ? { input: { active: 'input.active', inactive: 'input.inactive' } } : {},
    );
    a.onEvents([ev('d1', 'device.offline', 'high'), ev('p2', 'panic.pressed'), ev('leak', 'input.active', 'high')]);
    const first = a.list()[0];
    a.onEvents([ev('p2', 'panic.pressed')]);
    expect(a.list().map((x) => x.type)).toEqual(['panic.pressed', 'device.offline', 'input.active']);
    expect(a.list()[0]?.since).toBe(first?.since);
    a.onEvents([ev('leak', 'input.inactive', 'normal'), ev('d1', 'device.online', 'normal')]);
    expect(a.list().map((x) => x.device)).toEqual(['p2']);
  });

  it('an accepted alarm.acknowledged event marks the alarm too', () => {
    const a = new Alarms(() => ({}));
    a.onEvents([ev('p1', 'panic.pressed')]);
    const id = a.list()[0]?.id;
    a.onEvents([ev('gw', 'alarm.acknowledged', 'normal', { alarmId: id, by: 'desk 2' })]);
    expect(a.list()[0]?.controlRoom?.by).toBe('desk 2');
  });
});

describe('walk tests', () => {
  const devices = () => [
    { id: 'p1', type: 'panic-button', name: 'One' },
    { id: 'p2', type: 'panic-button', name: 'Two' },
    { id: 'p3', type: 'panic-button' },
  ];
  const make = (dir: string, keep = 2) =>
    new WalkTests({ dir, keep, gateway: 'gw', site: 'site', devices, log: createLogger('silent') });

  it('marks only the chosen devices, records activations (not availability), stores the newest `keep`', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wg-wt-'));
    const w = make(dir);
    const run = w.start({ devices: ['p1', 'p2'], technician: 't', ward: 'w' });
    const marked = { ...ev('p1', 'panic.pressed') } as Omit<WgEvent, 'seq'> & { seq?: number };
    const other = { ...ev('p3', 'panic.pressed') };
    w.mark(marked);
    w.mark(other);
    expect(marked.data).toEqual({ test: true, walkTest: run.id });
    expect(other.data).toEqual({});
    w.record([marked as WgEvent, other, { ...ev('p2', 'device.offline', 'high', { test: true, walkTest: run.id }) }]);
    expect(() => w.start({ technician: 't', ward: 'w' })).toThrow(/running/);
    const done = w.finish();
    expect(done.devices.map((d) => d.activations.length)).toEqual([1, 0]);
    for (let i = 0; i < 3; i++) {
      w.start({ technician: 't', ward: 'w' });
      w.finish();
    }
    expect(readdirSync(dir)).toHaveLength(2);
    expect(w.list()).toHaveLength(2);
    expect(w.get('../../etc/passwd')).toBeUndefined();
  });
});

describe('recent events', () => {
  it('keeps the last N per device and overall', () => {
    const h = new EventHistory(3, 5);
    const got: number[] = [];
    h.subscribe((evs) => got.push(evs.length));
    h.add(Array.from({ length: 10 }, (_, i) => ev(i % 2 ? 'a' : 'b', 'panic.pressed')));
    expect(h.forDevice('a')).toHaveLength(3);
    expect(h.recent()).toHaveLength(5);
    expect(got).toEqual([10]);
  });
});

describe('report and config view', () => {
  const run = {
    id: '0193c6b2-0000-7000-8000-000000000000',
    gateway: 'gw',
    site: 'St <Mary>',
    ward: '=HYPERLINK("x")',
    technician: 'Tech "T"',
    startedAt: '2026-12-01T10:00:00.000Z',
    finishedAt: '2026-12-01T10:30:00.000Z',
    devices: [
      {
        id: 'p1',
        name: '<img src=x>',
        type: 'panic-button',
        activations: [{ type: 'panic.pressed', ts: '2026-12-01T10:01:00.000Z', seq: 4 }],
      },
      { id: 'p2', type: 'panic-button', activations: [] },
    ],
  };

  it('escapes what it prints, has signature lines, and marks pass/fail', () => {
    const html = reportHtml(run, translator('en'), 'en');
    expect(html).toContain('St &lt;Mary&gt;');
    expect(html).toContain('&lt;img src=x&gt;');
    expect(html).not.toContain('<img');
    expect(html).toContain('Ward manager (name, signature)');
    expect(html).toContain('1 of 2 devices passed');
    expect(reportHtml(run, translator('zh-CN'), 'zh-CN')).toContain('巡检测试报告');
  });

  it('CSV cells cannot run as formulas', () => {
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('a,b')).toBe('"a,b"');
    const csv = reportCsv(run);
    expect(csv).toContain(`'=HYPERLINK(""x"")`);
    expect(csv).toContain('p2,,,panic-button,fail');
  });

  it('redacts passwords, hashes, tokens and keys, and passwords in broker URLs', () => {
    const shown = JSON.stringify(
      redactConfig({
        mqtt: { brokers: ['mqtts://u:pw@host'], password: { file: '/etc/x' }, tls: { key: '/k.pem', ca: '/ca.pem' } },
        web: { tokens: ['sha256:abc'], users: [{ name: 'a', passwordHash: 'scrypt:1:2:3:s:h' }] },
        devices: [{ id: 'cam', onvif: { password: 'p' } }],
      }),
    );
    for (const secret of ['pw@', '/etc/x', '/k.pem', 'sha256:abc', 'scrypt:', '"p"'])
      expect(shown).not.toContain(secret);
    expect(shown).toContain('/ca.pem');
    expect(shown).toContain(REDACTED);
  });
});
