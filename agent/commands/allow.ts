// Which key may do what: `commands.keys[].allow: [{action, devices: [glob]}]`. Globs are `*` (any
// run of characters) and `?` (one character), matched against the whole action name or device
// id; nothing else is special. No rule, no permission.

export interface AllowRule {
  action: string;
  devices: string[];
}

const cache = new Map<string, RegExp>();

export function globMatch(glob: string, value: string): boolean {
  let re = cache.get(glob);
  if (!re) {
    const body = glob
      .split('')
      .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${body}$`, 's');
    cache.set(glob, re);
  }
  return re.test(value);
}

export function isAllowed(rules: readonly AllowRule[], action: string, device: string): boolean {
  return rules.some((r) => globMatch(r.action, action) && r.devices.some((d) => globMatch(d, device)));
}
