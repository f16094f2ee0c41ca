// Which reads a unit's points need: one request per table and contiguous span, so a door's four
// discrete inputs cost one transaction, and four doors on a 16-channel module still one.
import { isBitTable, type Table } from './points.js';

export interface UnitPoint {
  /** The full point name, as models bind it. */
  point: string;
  table: Table;
  address: number;
  bit?: number;
}

export interface Block {
  table: Table;
  start: number;
  count: number;
  points: Array<{ point: string; offset: number; bit?: number }>;
}

// Modbus limits per request (spec: 2000 bits for FC1/FC2, 125 registers for FC3/FC4). Small gaps
// are read through (cheaper than a second transaction); a large gap starts a new request, because
// a unit answers exception 2 (illegal data address) for addresses it does not have.
const MAX_BITS = 2000;
const MAX_REGS = 125;
const MAX_GAP_BITS = 8;
const MAX_GAP_REGS = 4;

export function planBlocks(points: UnitPoint[]): Block[] {
  const blocks: Block[] = [];
  const byTable = new Map<Table, UnitPoint[]>();
  for (const p of points) byTable.set(p.table, [...(byTable.get(p.table) ?? []), p]);
  for (const [table, list] of byTable) {
    const bits = isBitTable(table);
    const max = bits ? MAX_BITS : MAX_REGS;
    const gap = bits ? MAX_GAP_BITS : MAX_GAP_REGS;
    list.sort((a, b) => a.address - b.address);
    let cur: Block | undefined;
    for (const p of list) {
      const end = cur ? cur.start + cur.count : 0;
      if (!cur || p.address - end > gap || p.address - cur.start + 1 > max) {
        cur = { table, start: p.address, count: 1, points: [] };
        blocks.push(cur);
      }
      cur.count = Math.max(cur.count, p.address - cur.start + 1);
      cur.points.push({
        point: p.point,
        offset: p.address - cur.start,
        ...(p.bit !== undefined ? { bit: p.bit } : {}),
      });
    }
  }
  return blocks;
}
