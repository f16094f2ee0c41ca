// How doors' points become Modbus requests (drivers/modbus/points.ts, blocks.ts): one request per
// table and contiguous span, register bits, and point names refused when malformed.
import { describe, expect, it } from 'vitest';
import { planBlocks, type UnitPoint } from '../../drivers/modbus/blocks.js';
import { parseValuePoint, valuePoint } from '../../drivers/modbus/points.js';

const di = (address: number): UnitPoint => ({ point: `b/1/di/${address}`, table: 'di', address });

describe('Modbus points and reads', () => {
  it('four doors of a 16-input module are one FC2 request', () => {
    const blocks = planBlocks(Array.from({ length: 16 }, (_, i) => di(15 - i)));
    expect(blocks.map(({ table, start, count }) => ({ table, start, count }))).toEqual([
      { table: 'di', start: 0, count: 16 },
    ]);
    expect(blocks[0]?.points[3]).toEqual({ point: 'b/1/di/3', offset: 3 });
  });

  it('a small gap is read through, a large one (addresses a unit may not have) starts a new request', () => {
    const spans = (ps: UnitPoint[]) => planBlocks(ps).map((b) => [b.start, b.count]);
    expect(spans([di(0), di(1), di(9)])).toEqual([[0, 10]]);
    expect(spans([di(0), di(1), di(100)])).toEqual([
      [0, 2],
      [100, 1],
    ]);
  });

  it('register bits share one register read; tables never mix', () => {
    const blocks = planBlocks([
      { point: 'b/1/hr/48.0', table: 'hr', address: 48, bit: 0 },
      { point: 'b/1/hr/48.3', table: 'hr', address: 48, bit: 3 },
      { point: 'b/1/coil/0', table: 'coil', address: 0 },
    ]);
    expect(blocks).toEqual([
      {
        table: 'hr',
        start: 48,
        count: 1,
        points: [
          { point: 'b/1/hr/48.0', offset: 0, bit: 0 },
          { point: 'b/1/hr/48.3', offset: 0, bit: 3 },
        ],
      },
      { table: 'coil', start: 0, count: 1, points: [{ point: 'b/1/coil/0', offset: 0 }] },
    ]);
  });

  it('point names round-trip; malformed ones are refused', () => {
    const p = { bus: 'rs485', unit: 3, table: 'ir' as const, address: 48, bit: 15 };
    expect(parseValuePoint(valuePoint(p))).toEqual(p);
    for (const bad of [
      'rs485/3',
      'rs485/300/di/0',
      'rs485/3/di/0.1',
      'rs485/3/xx/0',
      'rs485/3/hr/70000',
      'rs485/3/hr/1.16',
    ])
      expect(parseValuePoint(bad)).toBeUndefined();
  });
});
