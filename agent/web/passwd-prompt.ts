// `wardgate passwd`: on a terminal, ask twice without echo (raw mode: nothing typed is shown or
// kept in the terminal's scrollback); from a pipe, take the first line (scripts, provisioning).
import { readFileSync } from 'node:fs';

export const MIN_PASSWORD = 8;

function askHidden(prompt: string): Promise<string> {
  const { stdin, stderr } = process;
  return new Promise((resolve, reject) => {
    let typed = '';
    // Echo off before the prompt shows: anything typed after it must never reach the screen.
    stdin.setRawMode(true);
    stderr.write(prompt);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (err?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      stderr.write('\n');
      if (err) reject(err);
      else resolve(typed);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') typed = typed.slice(0, -1);
        else if (ch >= ' ') typed += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** The password to hash, or an error message for the user. */
export async function readNewPassword(): Promise<{ password: string } | { error: string }> {
  let password: string;
  if (process.stdin.isTTY) {
    password = await askHidden('New technician password: ');
    const again = await askHidden('Repeat it: ');
    if (password !== again) return { error: 'passwd: the two passwords differ; nothing written' };
  } else {
    password = readFileSync(0, 'utf8').split('\n')[0]?.replace(/\r$/, '') ?? '';
  }
  if (password.length < MIN_PASSWORD) return { error: `passwd: at least ${MIN_PASSWORD} characters` };
  return { password };
}
