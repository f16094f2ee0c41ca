// Checks of `commands:` a JSON Schema cannot express: one id per key, a public key that node:crypto
// accepts, allow rules that name an action this gateway knows (or a glob).
import { publicKeyFromBase64 } from './keys.js';

export const COMMAND_ACTIONS = [
  'alarm.ack',
  'door.unlock',
  'output.set',
  'output.pulse',
  'walktest.start',
  'walktest.stop',
  'config.reload',
  'log.level',
];

type Loose = Record<string, unknown>;

export function commandProblems(root: Loose): string[] {
  const commands = root.commands as Loose | undefined;
  if (!commands || !Array.isArray(commands.keys)) return [];
  const problems: string[] = [];
  const seen = new Map<string, number>();
  (commands.keys as Loose[]).forEach((k, i) => {
    if (!k || typeof k !== 'object') return;
    if (typeof k.id === 'string') {
      const first = seen.get(k.id);
      if (first !== undefined)
        problems.push(`commands.keys[${i}].id: duplicate key id "${k.id}" (also keys[${first}])`);
      else seen.set(k.id, i);
    }
    if (typeof k.publicKey === 'string') {
      try {
        publicKeyFromBase64(k.publicKey);
      } catch (err) {
        problems.push(`commands.keys[${i}].publicKey: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (!Array.isArray(k.allow)) return;
    (k.allow as Loose[]).forEach((r, j) => {
      const a = r?.action;
      if (typeof a === 'string' && !/[*?]/.test(a) && !COMMAND_ACTIONS.includes(a))
        problems.push(`commands.keys[${i}].allow[${j}].action: unknown action "${a}" (${COMMAND_ACTIONS.join(', ')})`);
    });
  });
  return problems;
}
