// Builds dist/ once so tests that spawn the real `wardgate` process run the shipped code.
// WG_SKIP_BUILD=1 skips it when dist/ is known to be fresh (a developer iterating on one test).
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  if (process.env.WG_SKIP_BUILD === '1') return;
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
}
