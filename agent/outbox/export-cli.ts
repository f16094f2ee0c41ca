// `wardgate export-outbox FILE` / `import-outbox FILE`: the gateway id and data dir come from the
// config (no secrets are read); exit 0 done, 64 usage, 65 refused (the reason's code is printed).
import { parseArgs } from 'node:util';
import { ConfigError, EXIT_CONFIG } from '../config/errors.js';
import { loadConfig } from '../config/load.js';
import { errorCode, errorMessage } from '../errors.js';
import { exportOutbox, importOutbox } from './export.js';

export async function outboxCommand(command: 'export-outbox' | 'import-outbox', argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' }, 'data-dir': { type: 'string' }, force: { type: 'boolean' } },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1 || (command === 'export-outbox' && values.force)) {
    process.stderr.write(
      `usage: wardgate ${command} FILE [--config FILE] [--data-dir DIR]${command === 'import-outbox' ? ' [--force]' : ''}\n`,
    );
    return 64;
  }
  const configPath = values.config ?? '/etc/wardgate/config.yaml';
  let gateway: string;
  let dataDir: string;
  try {
    const cfg = loadConfig(configPath);
    gateway = cfg.gateway.id;
    dataDir = values['data-dir'] ?? cfg.gateway.dataDir;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${configPath}: invalid configuration\n${err.problems.join('\n')}\n`);
      return EXIT_CONFIG;
    }
    throw err;
  }
  try {
    if (command === 'export-outbox') {
      const info = await exportOutbox(dataDir, file, gateway);
      process.stdout.write(
        `${file}: outbox of ${info.gateway}, ${info.rows} events not yet delivered, last seq ${info.lastSeq}\n`,
      );
    } else {
      const r = await importOutbox(dataDir, file, gateway, { force: values.force === true });
      process.stdout.write(
        `${dataDir}: outbox of ${r.info.gateway} imported, ${r.info.rows} events to deliver; the next event takes seq ${r.nextSeq}\n`,
      );
      if (r.setAside) process.stdout.write(`the events that were here are kept aside in ${r.setAside}\n`);
    }
    return 0;
  } catch (err) {
    const code = errorCode(err);
    if (!code?.startsWith('WG_ERR_OUTBOX')) throw err;
    process.stderr.write(`${command}: ${code}: ${errorMessage(err)}\n`);
    return 65;
  }
}
