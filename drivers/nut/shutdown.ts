// The configured shutdown command after a low-battery stop (`onLowBattery.shutdownCommand`, an
// argv: no shell, so nothing in the config is ever interpreted). Bounded: a command that hangs is
// reported and left, the agent has already stopped cleanly.
import { execFile } from 'node:child_process';
import type { Logger } from 'pino';

export function runShutdownCommand(argv: string[], log: Logger, timeoutMs = 10_000): Promise<boolean> {
  const [file, ...args] = argv;
  if (!file) return Promise.resolve(false);
  log.warn({ command: argv }, 'running the UPS shutdown command');
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs }, (err, _stdout, stderr) => {
      if (err) {
        log.error(
          { code: 'WG_ERR_UPS_SHUTDOWN_COMMAND', command: argv, err, stderr: String(stderr).slice(0, 500) },
          'the UPS shutdown command failed',
        );
        resolve(false);
      } else resolve(true);
    });
  });
}
