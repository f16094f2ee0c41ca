// Helpers for the install and upgrade tests: a frozen copy of this checkout (other work may edit the
// tree while a test runs), scripts/install.sh run into a throwaway root, and a manifest of a tree
// (type, mode, symlink target, content hash per path; never mtimes) to compare two installs.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = join(import.meta.dirname, '..', '..');

/** What install.sh reads from a checkout. */
const SHIPPED = [
  'package.json',
  'package-lock.json',
  '.npmrc',
  'tsconfig.json',
  'README.md',
  'agent',
  'drivers',
  'bin',
  'config',
  'docs',
  'bench',
  'scripts',
  'systemd',
  'dist',
  'node_modules',
];

/** A copy of the checkout (with its build and node_modules) that nothing else edits. */
export function snapshotCheckout(to: string, from = REPO): string {
  mkdirSync(to, { recursive: true });
  for (const p of SHIPPED) cpSync(join(from, p), join(to, p), { recursive: true, verbatimSymlinks: true });
  return to;
}

export function install(src: string, args: string[]): string {
  return execFileSync('bash', [join(src, 'scripts', 'install.sh'), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 180_000,
  });
}

/**
 * The root a box has before wardgate: systemd's own units (verify resolves the unit's
 * dependencies there) and executables at the unit's paths (verify checks only that they exist and
 * can be executed, so a stand-in script is enough).
 */
export function seedBoxRoot(root: string): void {
  mkdirSync(join(root, 'usr', 'lib', 'systemd'), { recursive: true });
  cpSync('/usr/lib/systemd/system', join(root, 'usr', 'lib', 'systemd', 'system'), {
    recursive: true,
    verbatimSymlinks: true,
  });
  for (const exe of ['/usr/bin/node', '/bin/kill']) {
    mkdirSync(join(root, exe, '..'), { recursive: true });
    writeFileSync(join(root, exe), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  }
}

/** path → "type mode size hash|target" for every entry under `dir`. */
export function manifest(dir: string, skip: (rel: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (skip(r)) continue;
      const abs = join(dir, r);
      const st = lstatSync(abs);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out.set(r, `l ${mode} ${readlinkSync(abs)}`);
      else if (st.isDirectory()) {
        out.set(r, `d ${mode}`);
        walk(r);
      } else {
        const hash = createHash('sha256').update(readFileSync(abs)).digest('hex');
        out.set(r, `f ${mode} ${st.size} ${hash}`);
      }
    }
  };
  walk('');
  return out;
}

/** Entries that differ between two manifests, as readable lines. */
export function manifestDiff(a: Map<string, string>, b: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) lines.push(`${k}: ${v} -> ${b.get(k) ?? 'missing'}`);
  for (const k of b.keys()) if (!a.has(k)) lines.push(`${k}: new`);
  return lines;
}
