// Modbus point names (driver-local, DESIGN §3): `bus/unit/table/address[.bit]` for one value and
// `bus/unit` for the controller itself (its online/offline readings). Tables use the Modbus data
// model: di = discrete input (FC2), coil (FC1, written with FC5), ir = input register (FC4),
// hr = holding register (FC3, written with FC6). Addresses are 0-based PDU addresses, as makers'
// tables print them in hex (Moxa `0x0000` = reference 10001).
export type Table = 'di' | 'coil' | 'ir' | 'hr';
export const TABLES: readonly Table[] = ['di', 'coil', 'ir', 'hr'];

export interface ValuePoint {
  bus: string;
  unit: number;
  table: Table;
  address: number;
  /** Bit of a register (0 = least significant); undefined for bit tables and whole registers. */
  bit?: number;
}

export function isBitTable(t: Table): boolean {
  return t === 'di' || t === 'coil';
}

export function unitPoint(bus: string, unit: number): string {
  return `${bus}/${unit}`;
}

export function valuePoint(p: ValuePoint): string {
  return `${p.bus}/${p.unit}/${p.table}/${p.address}${p.bit === undefined ? '' : `.${p.bit}`}`;
}

const VALUE_RE = /^([^/]+)\/(\d{1,3})\/(di|coil|ir|hr)\/(\d{1,5})(?:\.(\d{1,2}))?$/;

/** Parse a value point; undefined for anything else (a unit point, a typo). */
export function parseValuePoint(s: string): ValuePoint | undefined {
  const m = VALUE_RE.exec(s);
  if (!m) return undefined;
  const p: ValuePoint = { bus: m[1] as string, unit: Number(m[2]), table: m[3] as Table, address: Number(m[4]) };
  if (m[5] !== undefined) p.bit = Number(m[5]);
  if (p.unit > 247 || p.address > 65535 || (p.bit !== undefined && (p.bit > 15 || isBitTable(p.table))))
    return undefined;
  return p;
}
