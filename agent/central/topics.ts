// Topic names of the MQTT contract as the consumer reads them (DESIGN §5).

export interface ParsedTopic {
  gateway: string;
  kind: 'event' | 'status' | 'health' | 'cmd-result';
  device?: string;
}

export function parseTopic(prefix: string, topic: string): ParsedTopic | undefined {
  if (!topic.startsWith(`${prefix}/`)) return undefined;
  const parts = topic.slice(prefix.length + 1).split('/');
  const [gateway, kind, a, b] = parts;
  if (!gateway || !kind) return undefined;
  if (kind === 'events' && a && b) return { gateway, kind: 'event', device: b };
  if ((kind === 'status' || kind === 'health') && parts.length === 2) return { gateway, kind };
  if (kind === 'cmd-result' && a) return { gateway, kind: 'cmd-result', device: a };
  return undefined;
}

/** `*` any run of characters, `?` one; everything else literal. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^(?:${body})$`);
}
