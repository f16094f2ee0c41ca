// Dockerfile.arm64 lint (issue 12). hadolint is not packaged in Debian; the checks are
// dockerfile-utils' validator (the maintained parser behind VS Code's Dockerfile language server:
// syntax, instruction arguments, flags, stage references) plus our own rules:
//  - every base image pinned to a tag (not `latest`) and to linux/arm64;
//  - apt-get install with --no-install-recommends, and the lists removed in the same layer;
//  - the final stage runs as a non-root USER;
//  - ENTRYPOINT and CMD in exec (JSON) form, under tini, so SIGTERM (stop) and SIGHUP (reload)
//    reach node rather than a shell;
//  - every COPY source exists in the checkout (a build would fail on a missing one).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../agent/paths.js';

const root = packageRoot();
const text = readFileSync(join(root, 'Dockerfile.arm64'), 'utf8');
// Instructions with continuation lines joined, comments dropped.
const instructions = text
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => {
    const [op = '', ...rest] = l.split(/\s+/);
    return { op: op.toUpperCase(), args: rest.join(' ') };
  });

describe('Dockerfile.arm64', () => {
  it('passes dockerfile-utils validation', () => {
    const problems = validate(text).map((d) => `${d.range.start.line + 1}: ${d.message}`);
    expect(problems).toEqual([]);
  });

  it('pins every base image to a tag and to linux/arm64', () => {
    const froms = instructions.filter((i) => i.op === 'FROM');
    expect(froms.length).toBeGreaterThan(0);
    for (const f of froms) {
      expect(f.args).toContain('--platform=linux/arm64');
      const image = f.args.split(/\s+/).find((a) => !a.startsWith('--')) ?? '';
      expect(image).toMatch(/:[\w.-]+$/);
      expect(image).not.toMatch(/:latest$/);
    }
  });

  it('installs Debian packages without recommends and drops the lists in the same layer', () => {
    const runs = instructions.filter((i) => i.op === 'RUN' && i.args.includes('apt-get install'));
    expect(runs.length).toBeGreaterThan(0);
    for (const r of runs) {
      expect(r.args).toContain('--no-install-recommends');
      expect(r.args).toContain('rm -rf /var/lib/apt/lists');
    }
  });

  it('runs the final stage as a non-root user, node under tini in exec form', () => {
    const finalStage = instructions.slice(instructions.map((i) => i.op).lastIndexOf('FROM'));
    const user = finalStage.filter((i) => i.op === 'USER').at(-1);
    expect(user?.args).toBeDefined();
    expect(user?.args).not.toMatch(/^(root|0)(:|$)/);
    const entry = finalStage.find((i) => i.op === 'ENTRYPOINT');
    const parsed = JSON.parse(entry?.args ?? 'null') as string[];
    expect(parsed[0]).toMatch(/tini$/);
    expect(parsed).toContain('node');
    expect(() => JSON.parse(finalStage.find((i) => i.op === 'CMD')?.args ?? '')).not.toThrow();
  });

  it('copies only paths that exist in the checkout', () => {
    const missing: string[] = [];
    for (const c of instructions.filter((i) => i.op === 'COPY' && !i.args.includes('--from='))) {
      const parts = c.args.split(/\s+/).filter((a) => !a.startsWith('--'));
      for (const src of parts.slice(0, -1)) if (!existsSync(join(root, src))) missing.push(src);
    }
    expect(missing).toEqual([]);
  });
});
