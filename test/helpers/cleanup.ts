// Teardown in reverse order of setup, after each test: brokers, agents, subscribers, processes.
import { afterEach } from 'vitest';

export function useCleanups(): (fn: () => Promise<unknown>) => void {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return (fn) => {
    cleanups.push(fn);
  };
}
