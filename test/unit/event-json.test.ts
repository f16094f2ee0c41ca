// The hand-written event JSON must say exactly what JSON.stringify says, for any strings.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeEvent, type Severity } from '../../agent/event.js';
import { eventJson } from '../../agent/event-json.js';

const anyText = fc.string({ unit: 'binary', maxLength: 40 });

describe('eventJson', () => {
  it('property: parses to the same value as JSON.stringify({...ev, seq})', () => {
    fc.assert(
      fc.property(
        anyText,
        anyText,
        anyText,
        anyText,
        fc.jsonValue(),
        fc.constantFrom<Severity>('critical', 'high', 'normal', 'low'),
        fc.boolean(),
        fc.integer({ min: 1, max: 2 ** 40 }),
        (gateway, site, device, deviceType, data, severity, synced, seq) => {
          const ev = makeEvent(
            { gateway, site, clockSynced: () => synced },
            { device, deviceType, type: 'panic.pressed', severity, data: { v: data } },
          );
          expect(JSON.parse(eventJson(ev, seq))).toEqual(JSON.parse(JSON.stringify({ ...ev, seq })));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('falls back to JSON.stringify for shapes it does not write by hand', () => {
    const ev = makeEvent(
      { gateway: 'g', site: 's', clockSynced: () => false },
      { device: 'd', deviceType: 't', type: 'fire.alarm' },
    );
    ev.clock.restamped = true;
    ev.clock.originalTs = ev.ts;
    expect(eventJson(ev, 7)).toBe(JSON.stringify({ ...ev, seq: 7 }));
  });
});
