// The reload's diff summary (agent/config/diff.ts): list entries by id, changed keys with what may be
// shown of their values, and never a secret (passwords, tokens, keys, a broker URL's password).
import { describe, expect, it } from 'vitest';
import { diffConfig } from '../../agent/config/diff.js';

describe('config diff', () => {
  it('names added, removed and changed devices by id, with the changed keys', () => {
    const a = { devices: [{ id: 'p1', debounceMs: 20 }, { id: 'p2' }], log: { level: 'info' } };
    const b = { devices: [{ id: 'p1', debounceMs: 40 }, { id: 'p3' }], log: { level: 'info' } };
    expect(diffConfig(a, b)).toEqual([
      { section: 'devices', id: 'p1', op: 'changed', keys: [{ path: 'debounceMs', from: '20', to: '40' }] },
      { section: 'devices', id: 'p2', op: 'removed' },
      { section: 'devices', id: 'p3', op: 'added' },
    ]);
    expect(diffConfig(a, a)).toEqual([]);
  });

  it('never shows a secret value', () => {
    const a = {
      mqtt: { brokers: ['mqtts://gw:old-pass@broker:8883'], password: 'hunter2', keepaliveSec: 30 },
      web: { tokens: ['0123abcd'] },
      devices: [{ id: 'cam', onvif: { password: 'cam-secret' } }],
    };
    const b = {
      mqtt: { brokers: ['mqtts://gw:new-pass@broker:8883'], password: 'hunter3', keepaliveSec: 20 },
      web: { tokens: ['4567ef01'] },
      devices: [{ id: 'cam', onvif: { password: 'cam-secret-2' } }],
    };
    const text = JSON.stringify(diffConfig(a, b));
    for (const secret of ['hunter', 'old-pass', 'new-pass', '0123abcd', '4567ef01', 'cam-secret']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain('"path":"password","from":"[redacted]","to":"[redacted]"');
    expect(text).toContain('"path":"keepaliveSec","from":"30","to":"20"');
  });
});
