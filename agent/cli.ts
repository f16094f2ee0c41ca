// wardgate's command line (DESIGN §10).
import { parseArgs } from 'node:util';
import { ConfigError, EXIT_CONFIG } from './config/errors.js';
import { errorMessage } from './errors.js';
import { hashToken, newToken } from './web/auth.js';
import { hashPassword } from './web/password.js';

const USAGE = `usage:
  wardgate run [--config FILE]        run the agent (default /etc/wardgate/config.yaml)
  wardgate demo [--port N] [--mqtt-port N] [--data-dir DIR]
                                      everything simulated + embedded broker + web page
  wardgate check-config FILE          validate, check secrets can be read (never printed), print every
                                      error, exit 78 if invalid
  wardgate token                      make a web API token and the sha256 line for the config
  wardgate passwd                     hash a technician password with scrypt (asked twice without echo
                                      on a terminal, else the first line of stdin) for web.users
  wardgate keygen --out DIR --id ID   command-signing key (DIR/ID.key); prints the commands.keys entry
  wardgate sign --key FILE --key-id ID --device DEV --action ACTION [--args JSON] [--ttl SEC]
                                      print a signed command envelope (JSON) for cmd/DEV
  wardgate export-outbox FILE [--config FILE] [--data-dir DIR]
                                      copy the outbox (safe while running) for a replacement box
  wardgate import-outbox FILE [--config FILE] [--data-dir DIR] [--force]
                                      put an export in place (agent stopped; seq continues); refused
                                      over undelivered events unless --force (they are set aside)
  wardgate watch --broker URL [--json] [--client-id ID] [--share G] [--ack-key FILE --key-id ID] …
                                      the central side: dedup, order, gaps, presence, acknowledge
  wardgate ack --broker URL --gateway GW --device DEV --event ID --ack-key FILE --key-id ID
                                      acknowledge one alarm (signed alarm.ack); prints the cmd-result`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run': {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } } });
      const { run } = await import('./main.js');
      return run(values.config ?? '/etc/wardgate/config.yaml');
    }
    case 'demo': {
      const { values } = parseArgs({
        args: rest,
        options: { port: { type: 'string' }, 'mqtt-port': { type: 'string' }, 'data-dir': { type: 'string' } },
      });
      const { demo } = await import('./demo.js');
      return demo({
        webPort: values.port ? Number(values.port) : 8080,
        mqttPort: values['mqtt-port'] ? Number(values['mqtt-port']) : 1883,
        ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}),
      });
    }
    case 'check-config': {
      const file = rest[0];
      if (!file) {
        process.stderr.write(`${USAGE}\n`);
        return 64;
      }
      try {
        // Secrets are read to prove they can be, never printed; env secrets are looked up in this
        // shell's environment, which may differ from the service's.
        const { loadConfigWithSecrets } = await import('./config/load.js');
        const cfg = loadConfigWithSecrets(file);
        process.stdout.write(`${file}: ok (gateway ${cfg.gateway.id}, ${cfg.devices.length} devices)\n`);
        // Legal but worth a look (outputs held by rules on different events): said, not refused.
        const { outputAndActionWarnings } = await import('./actions/validate.js');
        for (const w of outputAndActionWarnings(cfg as unknown as Record<string, unknown>))
          process.stdout.write(`warning: ${w}\n`);
        return 0;
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`${file}: invalid configuration\n${err.problems.join('\n')}\n`);
          return EXIT_CONFIG;
        }
        throw err;
      }
    }
    case 'token': {
      const token = newToken();
      process.stdout.write(
        `token (give to the technician, shown once): ${token}\nconfig line (web.tokens): "${hashToken(token)}"\n`,
      );
      return 0;
    }
    case 'keygen':
      return (await import('./commands/cli-keys.js')).keygen(rest);
    case 'sign':
      return (await import('./commands/cli-keys.js')).sign(rest);
    case 'watch':
      return (await import('./central/watch-cli.js')).watch(rest);
    case 'ack':
      return (await import('./central/watch-cli.js')).ack(rest);
    case 'export-outbox':
    case 'import-outbox':
      return (await import('./outbox/export-cli.js')).outboxCommand(command, rest);
    case 'passwd': {
      // Asks twice without echo on a terminal; reads the first line of stdin otherwise.
      const { readNewPassword } = await import('./web/passwd-prompt.js');
      const got = await readNewPassword();
      if ('error' in got) {
        process.stderr.write(`${got.error}\n`);
        return 64;
      }
      const hash = await hashPassword(got.password);
      if (process.stdin.isTTY)
        process.stderr.write('config (web.users): - { name: <name>, passwordHash: "<below>" }\n');
      process.stdout.write(`${hash}\n`);
      return 0;
    }
    default:
      process.stderr.write(`${USAGE}\n`);
      return command === undefined || command === '--help' || command === 'help' ? 0 : 64;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined && code !== -1) process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`wardgate: ${errorMessage(err)}\n`);
    process.exitCode = 1;
  },
);
