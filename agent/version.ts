import { readFileSync } from 'node:fs';
import { shippedFile } from './paths.js';

export const VERSION: string = (JSON.parse(readFileSync(shippedFile('package.json'), 'utf8')) as { version: string })
  .version;
