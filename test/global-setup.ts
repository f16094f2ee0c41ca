// Builds dist/ once so tests that spawn the real `wardgate` process run the shipped code.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
}
