// Files shipped with wardgate (schema, example configs, profiles), found from this module whether
// it runs from source (agent/) or compiled (dist/agent/).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, 'config'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('wardgate package root not found');
    dir = up;
  }
  root = dir;
  return dir;
}

export const shippedFile = (...parts: string[]): string => join(packageRoot(), ...parts);
