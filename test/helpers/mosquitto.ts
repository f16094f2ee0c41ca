// A real Mosquitto for tests and benchmarks: random port, its own temp dir, persistence on (so a
// restart keeps queued messages for persistent subscribers), killed by PID in teardown.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.js';

export const MOSQUITTO = process.env.WARDGATE_MOSQUITTO ?? '/usr/sbin/mosquitto';

export interface MosquittoOptions {
  port?: number;
  /** Lines that must come first in mosquitto.conf (e.g. per_listener_settings). */
  prelude?: string[];
  /** Extra lines for mosquitto.conf. */
  extra?: string[];
}

export class Mosquitto {
  proc: ChildProcess | undefined;
  readonly dir: string;
  port = 0;
  log = '';

  constructor(private readonly opts: MosquittoOptions = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'wg-mosq-'));
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    if (!existsSync(MOSQUITTO)) {
      throw new Error(`${MOSQUITTO} not found: apt-get install mosquitto (npm test installs it when run as root)`);
    }
    const chosenHere = !this.port && this.opts.port === undefined;
    if (!this.port) this.port = this.opts.port ?? (await freePort());
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.launch();
      } catch (err) {
        // A port this helper chose can still be taken by another test's broker between the check
        // and the bind (two workers picking the same one): a first start moves to another port.
        if (!chosenHere || attempt >= 3 || !this.log.includes('Address already in use')) throw err;
        this.log = '';
        this.port = await freePort();
      }
    }
  }

  private async launch(): Promise<this> {
    const conf = join(this.dir, 'mosquitto.conf');
    writeFileSync(
      conf,
      [
        ...(this.opts.prelude ?? []),
        // As root, mosquitto drops to user "mosquitto" unless told otherwise; the temp dir is root's.
        'user root',
        `listener ${this.port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence true',
        `persistence_location ${this.dir}/`,
        'autosave_interval 1',
        'max_queued_messages 0',
        'max_inflight_messages 0',
        'log_dest stderr',
        'log_type error',
        'log_type warning',
        ...(this.opts.extra ?? []),
      ].join('\n'),
    );
    const proc = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    proc.stderr?.on('data', (d: Buffer) => {
      this.log += d.toString();
    });
    await waitFor(() => this.accepts(), 10_000, `mosquitto on port ${this.port}`);
    return this;
  }

  private accepts(): Promise<boolean> {
    if (this.proc?.exitCode !== null) throw new Error(`mosquitto exited: ${this.log}`);
    return new Promise((resolve) => {
      const s = connect(this.port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  }

  /** Graceful stop (SIGTERM: persistence is saved). */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
    this.proc = undefined;
  }
}
