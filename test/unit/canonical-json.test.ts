// RFC 8785 (JCS) canonical JSON: the bytes a command signature covers. Vectors from the RFC itself
// (§3.2.2 example, §3.2.3 sorting, Appendix B numbers), so an integrator's JCS library and ours agree.
import { describe, expect, it } from 'vitest';
import { CanonicalError, canonicalize } from '../../agent/commands/canonical.js';

const f64 = (hex: string) => Buffer.from(hex, 'hex').readDoubleBE(0);

describe('RFC 8785 canonical JSON', () => {
  it('serialises the RFC §3.2.2 example byte for byte', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts members by UTF-16 code units (RFC §3.2.3)', () => {
    const input = JSON.parse(
      '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One",' +
        '"\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}',
    );
    const keys = Object.keys(JSON.parse(canonicalize(input)));
    // Object.keys puts the integer-like "1" first; compare the canonical text's order instead.
    expect(keys).toContain('1');
    const text = canonicalize(input);
    const order = ['\\r', '"1"', '\u0080', 'ö', '€', '😀', '\ufb33'].map((k) => text.indexOf(k));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(order.every((i) => i >= 0)).toBe(true);
  });

  it('writes numbers as ECMAScript does (RFC Appendix B)', () => {
    const vectors: Array<[string, string]> = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['c3e0000000000000', '-9223372036854776000'],
    ];
    for (const [hex, text] of vectors) expect(canonicalize(f64(hex)), hex).toBe(text);
  });

  it('has no whitespace, nests, and drops nothing but undefined', () => {
    expect(canonicalize({ b: [1, { d: 1, c: 'x' }], a: {} })).toBe('{"a":{},"b":[1,{"c":"x","d":1}]}');
  });

  it('refuses what is not I-JSON: NaN, Infinity, lone surrogates, deep nesting', () => {
    expect(() => canonicalize(Number.NaN)).toThrow(CanonicalError);
    expect(() => canonicalize({ a: Number.POSITIVE_INFINITY })).toThrow(CanonicalError);
    expect(() => canonicalize('\ud800')).toThrow(CanonicalError);
    expect(() => canonicalize({ '\udc00x': 1 })).toThrow(CanonicalError);
    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = [deep];
    expect(() => canonicalize(deep)).toThrow(CanonicalError);
  });
});
