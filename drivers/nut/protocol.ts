// NUT network protocol, the text part (docs/net-protocol.txt in the NUT source): one request per
// line, replies are lines of words; a word with spaces is double-quoted, and inside quotes `\"`
// and `\\` are escapes. Errors are `ERR <CODE> [detail]`. Pure functions, so malformed lines are
// tested without a socket.
import { WardgateError } from '../../agent/errors.js';

/** Split one reply line into words (quotes removed, escapes applied). Throws WG_ERR_NUT_PROTOCOL. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    let word = '';
    if (c === '"') {
      i++;
      let closed = false;
      while (i < line.length) {
        const d = line[i] as string;
        if (d === '\\') {
          const next = line[i + 1];
          if (next === undefined) break;
          word += next;
          i += 2;
          continue;
        }
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        word += d;
        i++;
      }
      if (!closed) throw new WardgateError('WG_ERR_NUT_PROTOCOL', `unterminated quote in ${JSON.stringify(line)}`);
    } else {
      while (i < line.length && line[i] !== ' ' && line[i] !== '\t') {
        if (line[i] === '"') throw new WardgateError('WG_ERR_NUT_PROTOCOL', `stray quote in ${JSON.stringify(line)}`);
        word += line[i];
        i++;
      }
    }
    words.push(word);
  }
  return words;
}

/** Quote a request argument (a password may hold spaces or quotes). */
export function quote(word: string): string {
  if (/[\r\n]/.test(word)) throw new WardgateError('WG_ERR_NUT_PROTOCOL', 'a NUT argument may not contain a newline');
  return `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** `ERR ACCESS-DENIED` → a WardgateError carrying the NUT code; anything else → undefined. */
export function replyError(words: string[], request: string): WardgateError | undefined {
  if (words[0] !== 'ERR') return undefined;
  const nutCode = words[1] ?? 'UNKNOWN';
  const auth = nutCode === 'ACCESS-DENIED' || nutCode === 'INVALID-USERNAME' || nutCode === 'INVALID-PASSWORD';
  const err = new WardgateError(
    auth ? 'WG_ERR_NUT_AUTH' : 'WG_ERR_NUT_REPLY',
    `${request.split(' ')[0]}: ERR ${nutCode}`,
  );
  (err as WardgateError & { nutCode: string }).nutCode = nutCode;
  return err;
}

/** NUT's code from an ERR reply (`DATA-STALE`, `UNKNOWN-UPS`, …), if the error carries one. */
export function nutCodeOf(err: unknown): string | undefined {
  return err && typeof err === 'object' && 'nutCode' in err && typeof err.nutCode === 'string'
    ? err.nutCode
    : undefined;
}

/**
 * Parse the lines of `LIST VAR <ups>` between BEGIN and END. Every line must be
 * `VAR <ups> <name> "<value>"`; anything else is a protocol error (no half-read status).
 */
export function parseVarList(ups: string, lines: string[]): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of lines) {
    const w = splitWords(line);
    if (w.length !== 4 || w[0] !== 'VAR' || w[1] !== ups) {
      throw new WardgateError('WG_ERR_NUT_PROTOCOL', `unexpected line in LIST VAR: ${JSON.stringify(line)}`);
    }
    vars[w[2] as string] = w[3] as string;
  }
  return vars;
}

/** `ups.status` is space-separated flags: `OL`, `OB`, `LB`, `CHRG`, `RB`, `FSD`, … */
export function statusFlags(status: string | undefined): string[] {
  return (status ?? '').split(/\s+/).filter((f) => f.length > 0);
}
