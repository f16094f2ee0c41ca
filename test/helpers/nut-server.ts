// Debian's real NUT server for tests: /lib/nut/upsd + the dummy-ups driver (package nut-server),
// from a private config folder (NUT_CONFPATH / NUT_STATEPATH), random port, `-u root` because the
// temp dir is root's; both killed by PID in teardown. The UPS status is changed by rewriting the
// .dev file: dummy-ups re-reads it when its mtime changes, so each write gets a strictly later
// mtime (two writes in the same second would otherwise look unchanged).
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.js';

export const UPSD = process.env.WARDGATE_UPSD ?? '/lib/nut/upsd';
export const DUMMY_UPS = process.env.WARDGATE_DUMMY_UPS ?? '/lib/nut/dummy-ups';

export class NutServer {
  readonly dir: string;
  readonly ups = 'dummy';
  readonly user = 'wardgate';
  readonly password = 'wg-secret';
  port = 0;
  upsd: ChildProcess | undefined;
  driver: ChildProcess | undefined;
  log = '';
  private mtime = Math.floor(Date.now() / 1000);

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'wg-nut-'));
  }

  private get env(): NodeJS.ProcessEnv {
    return { ...process.env, NUT_CONFPATH: this.dir, NUT_STATEPATH: join(this.dir, 'state') };
  }

  async start(
    vars: Record<string, string> = {
      'ups.status': 'OL',
      'battery.charge': '100',
      'battery.runtime': '1800',
      'ups.load': '20',
    },
  ): Promise<this> {
    if (!existsSync(UPSD) || !existsSync(DUMMY_UPS)) {
      throw new Error(
        `${UPSD} / ${DUMMY_UPS} not found: apt-get install nut-server (npm test installs it when run as root)`,
      );
    }
    this.port = await freePort();
    mkdirSync(join(this.dir, 'state'), { mode: 0o700 });
    writeFileSync(join(this.dir, 'nut.conf'), 'MODE=standalone\n');
    writeFileSync(
      join(this.dir, 'ups.conf'),
      `[${this.ups}]\n  driver = dummy-ups\n  port = ${this.devFile}\n  desc = "wardgate test"\n`,
    );
    writeFileSync(join(this.dir, 'upsd.conf'), `LISTEN 127.0.0.1 ${this.port}\n`);
    writeFileSync(join(this.dir, 'upsd.users'), `[${this.user}]\n  password = ${this.password}\n  upsmon primary\n`);
    chmodSync(join(this.dir, 'upsd.users'), 0o600);
    this.setVars(vars);
    await this.startDriver();
    await this.startUpsd();
    // upsd says `WAIT` until the driver's first dump has arrived.
    await waitFor(async () => !(await this.rawStatus()).includes('WAIT'), 15_000, 'upsd to have data');
    return this;
  }

  /** One raw GET VAR over its own socket (independent of the client under test). */
  rawStatus(): Promise<string> {
    return new Promise((resolve) => {
      const s = connect(this.port, '127.0.0.1');
      let got = '';
      s.setTimeout(3_000, () => s.destroy());
      s.once('connect', () => s.write(`GET VAR ${this.ups} ups.status\n`));
      s.on('data', (d) => {
        got += d.toString();
        if (got.includes('\n')) s.destroy();
      });
      s.on('error', () => undefined);
      s.on('close', () => resolve(got));
    });
  }

  get devFile(): string {
    return join(this.dir, 'dummy.dev');
  }

  /** Replace the UPS's variables (atomically, with a later mtime so dummy-ups re-reads them). */
  setVars(vars: Record<string, string>): void {
    const tmp = `${this.devFile}.tmp`;
    writeFileSync(
      tmp,
      Object.entries(vars)
        .map(([k, v]) => `${k}: ${v}\n`)
        .join(''),
    );
    this.mtime += 2;
    utimesSync(tmp, this.mtime, this.mtime);
    renameSync(tmp, this.devFile);
  }

  async startDriver(): Promise<void> {
    this.driver = this.spawn(DUMMY_UPS, ['-a', this.ups, '-u', 'root', '-D']);
    await waitFor(() => existsSync(join(this.dir, 'state', `dummy-ups-${this.ups}`)), 15_000, 'dummy-ups socket');
  }

  async startUpsd(): Promise<void> {
    this.upsd = this.spawn(UPSD, ['-u', 'root', '-D']);
    const proc = this.upsd;
    await waitFor(() => this.accepts(proc), 15_000, `upsd on port ${this.port}`);
  }

  async stopUpsd(): Promise<void> {
    await kill(this.upsd);
    this.upsd = undefined;
  }

  async stopDriver(): Promise<void> {
    await kill(this.driver);
    this.driver = undefined;
    rmSync(join(this.dir, 'state', `dummy-ups-${this.ups}`), { force: true });
  }

  async stop(): Promise<void> {
    await this.stopUpsd();
    await this.stopDriver();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private spawn(bin: string, args: string[]): ChildProcess {
    const proc = spawn(bin, args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (d: Buffer) => {
      this.log = (this.log + d.toString()).slice(-20_000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    return proc;
  }

  private accepts(proc: ChildProcess): Promise<boolean> {
    if (proc.exitCode !== null) throw new Error(`upsd exited: ${this.log}`);
    return new Promise((resolve) => {
      const s = connect(this.port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  }
}

async function kill(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(t);
}
