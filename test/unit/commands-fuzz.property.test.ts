// fast-check over the command parser and router (issue 10): random payloads and valid envelopes
// mutated in every field never crash the router and never execute anything; the one unmutated
// envelope executes exactly once.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signEnvelope } from '../../agent/commands/sign.js';
import { routerHarness, testKey } from '../helpers/commands.js';

const ops = testKey('ops');
const KEYS = [{ id: 'ops', publicKey: ops.publicKey, allow: [{ action: '*', devices: ['*'] }] }];
const FIELDS = ['commandId', 'action', 'device', 'args', 'issuedAt', 'expiresAt', 'nonce', 'keyId', 'signature'];

type Mutation =
  | { kind: 'replace'; field: string; value: unknown }
  | { kind: 'delete'; field: string }
  | { kind: 'add'; field: string; value: unknown }
  | { kind: 'flip'; field: string; at: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('replace' as const), field: fc.constantFrom(...FIELDS), value: fc.jsonValue() }),
  fc.record({ kind: fc.constant('delete' as const), field: fc.constantFrom(...FIELDS) }),
  fc.record({ kind: fc.constant('add' as const), field: fc.string({ minLength: 1 }), value: fc.jsonValue() }),
  fc.record({ kind: fc.constant('flip' as const), field: fc.constantFrom(...FIELDS), at: fc.nat() }),
);

function mutate(env: Record<string, unknown>, m: Mutation): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = { ...env, args: { ...(env.args as object) } };
  if (m.kind === 'delete') delete out[m.field];
  else if (m.kind === 'add') {
    if (FIELDS.includes(m.field)) return undefined;
    out[m.field] = m.value;
  } else if (m.kind === 'replace') {
    if (JSON.stringify(m.value) === JSON.stringify(out[m.field])) return undefined; // not a change
    out[m.field] = m.value;
  } else {
    const v = out[m.field];
    if (v === undefined) return undefined;
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    if (s.length === 0) return undefined;
    const i = m.at % s.length;
    const c = s[i] === 'A' ? 'B' : 'A';
    const flipped = s.slice(0, i) + c + s.slice(i + 1);
    if (typeof v === 'string') out[m.field] = flipped;
    else {
      try {
        out[m.field] = JSON.parse(flipped);
      } catch {
        return undefined;
      }
      if (JSON.stringify(out[m.field]) === JSON.stringify(v)) return undefined;
    }
  }
  return out;
}

describe('command parser fuzzing', () => {
  it('random payloads: never a crash, never an execution', async () => {
    const h = routerHarness(KEYS);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.uint8Array().map((b) => Buffer.from(b)),
        ),
        fc.oneof(fc.constant('sounder-1'), fc.string()),
        async (payload, device) => {
          const r = await h.router.handle(device, payload as string | Buffer);
          expect(r.ok).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
    expect(h.runs).toEqual([]);
  });

  it('mutated valid envelopes: never a crash, never an execution; the original runs once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
        fc.jsonValue({ maxDepth: 2 }),
        async (mutations, argValue) => {
          const h = routerHarness(KEYS);
          const env = signEnvelope(ops.privateKey, {
            keyId: 'ops',
            device: 'sounder-1',
            action: 'output.pulse',
            args: { x: argValue },
          }) as unknown as Record<string, unknown>;
          let mutated: Record<string, unknown> | undefined = env;
          for (const m of mutations) mutated = mutated && mutate(mutated, m);
          fc.pre(mutated !== undefined);
          const r = await h.router.handle('sounder-1', JSON.stringify(mutated));
          expect(r.ok).toBe(false);
          expect(h.runs).toEqual([]);
          // The untouched envelope still runs, once: the mutants burned nothing it needs (unless its
          // own args are over the size limit, which is refused as malformed).
          const again = await h.router.handle('sounder-1', JSON.stringify(env));
          expect(again.ok || again.reason === 'malformed').toBe(true);
          expect(h.runs).toHaveLength(again.ok ? 1 : 0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
