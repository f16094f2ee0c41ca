// `wardgate watch --json` as a real child process (issue 15): every line it prints, across kills
// and restarts, kept in order; killed by PID.
import { type ChildProcess, spawn } from 'node:child_process';
import type { ConsumerRecord } from '../../agent/central/consumer.js';
import { shippedFile } from '../../agent/paths.js';
import { waitFor } from './ports.js';

/** bin/wardgate.js from source and from dist/ alike (the bench runs this file compiled). */
export const WARDGATE = shippedFile('bin', 'wardgate.js');

export class WatchProcess {
  proc: ChildProcess | undefined;
  readonly records: ConsumerRecord[] = [];
  err = '';
  starts = 0;
  private partial = '';

  constructor(readonly args: string[]) {}

  async start(): Promise<this> {
    const proc = spawn(process.execPath, [WARDGATE, 'watch', '--json', ...this.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.proc = proc;
    this.starts++;
    const connectedBefore = this.connected();
    proc.stdout?.on('data', (d: Buffer) => {
      const text = this.partial + d.toString();
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      for (const l of lines) if (l) this.records.push(JSON.parse(l) as ConsumerRecord);
    });
    proc.stderr?.on('data', (d: Buffer) => {
      this.err += d.toString();
    });
    await waitFor(
      () => {
        if (proc.exitCode !== null) throw new Error(`watch exited ${proc.exitCode}: ${this.err}`);
        return this.connected() > connectedBefore;
      },
      30_000,
      'watch connected',
    );
    return this;
  }

  private connected(): number {
    return this.records.filter((r) => r.kind === 'consumer' && r.state === 'connected').length;
  }

  /** SIGKILL (a crash) or SIGTERM (a clean stop, state snapshotted). A torn last line is dropped. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('close', () => resolve()));
    proc.kill(signal);
    await exited;
    this.partial = '';
    this.proc = undefined;
  }

  events() {
    return this.records.flatMap((r) => (r.kind === 'event' ? [r] : []));
  }
}
