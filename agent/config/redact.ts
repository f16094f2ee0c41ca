// What a config error may show of a value. A refused value is echoed so the installer sees the
// typo, except where it may be a secret: a raw token pasted into web.tokens (only its sha256
// belongs there), anything under a password/secret/key name, and the password in a broker URL.

const SECRET_PATH = /(^|\.)(tokens\[\d+\]|password|secret|token|key)($|\.|\[)/i;
const MAX_SHOWN = 80;

/** `mqtts://user:pw@host` → `mqtts://user:***@host`; works on text that is not a valid URL. */
export function redactUrlText(text: string): string {
  return text.replace(/(^|\/\/)([^\s/:@]*):[^\s/@]*@/g, '$1$2:***@');
}

/** The value to quote in a message about `path`, or undefined when it must not be shown. */
export function redactedData(path: string, data: unknown): string | undefined {
  if (SECRET_PATH.test(path)) return undefined;
  let shown = typeof data === 'string' ? redactUrlText(data) : data;
  if (typeof shown === 'string' && shown.length > MAX_SHOWN) shown = `${shown.slice(0, MAX_SHOWN)}…`;
  return JSON.stringify(shown);
}
