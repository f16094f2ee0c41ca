// Config errors, apart from the loader so that code reporting them does not load YAML and Ajv.
import { WardgateError } from '../errors.js';

export const EXIT_CONFIG = 78; // EX_CONFIG from sysexits.h: systemd and installers know it

export class ConfigError extends WardgateError {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(
      'WG_ERR_CONFIG_INVALID',
      `${file}: ${problems.length} problem(s)\n${problems.map((p) => `  ${p}`).join('\n')}`,
    );
  }
}
