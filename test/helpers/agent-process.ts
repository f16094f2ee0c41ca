// The real `wardgate run` as a child process, for crash and footprint tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './ports.js';

export const CLI = join(import.meta.dirname, '..', '..', 'bin', 'wardgate.js');

export class AgentProcess {
  proc: ChildProcess | undefined;
  out = '';
  err = '';

  constructor(
    private readonly configPath: string,
    private readonly extraEnv: Record<string, string> = {},
    /** Another build's bin/wardgate.js (the upgrade test runs an installed old and new build). */
    private readonly cli = CLI,
  ) {}

  static withConfig(dir: string, yaml: string): AgentProcess {
    const path = join(dir, 'config.yaml');
    writeFileSync(path, yaml);
    return new AgentProcess(path);
  }

  async start(): Promise<this> {
    this.out = '';
    this.err = '';
    const proc = spawn(process.execPath, [this.cli, 'run', '--config', this.configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.extraEnv },
    });
    this.proc = proc;
    proc.stdout?.on('data', (d: Buffer) => {
      this.out += d.toString();
    });
    proc.stderr?.on('data', (d: Buffer) => {
      this.err += d.toString();
    });
    await waitFor(
      () => {
        if (proc.exitCode !== null)
          throw new Error(`agent exited ${proc.exitCode}: ${this.err}${this.out.slice(-2000)}`);
        return this.out.includes('"msg":"wardgate ready"');
      },
      20_000,
      'agent READY',
    );
    return this;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return proc?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill(signal);
    const code = await exited;
    this.proc = undefined;
    return code;
  }
}
