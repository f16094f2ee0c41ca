// The MQTT contract's topic names (DESIGN §5), in one place. Versioned by the prefix.

export interface TopicContext {
  prefix: string;
  gateway: string;
}

const base = (c: TopicContext) => `${c.prefix}/${c.gateway}`;

export const topics = {
  status: (c: TopicContext) => `${base(c)}/status`,
  health: (c: TopicContext) => `${base(c)}/health`,
  state: (c: TopicContext, device: string) => `${base(c)}/state/${device}`,
  /** Stored with each outbox row; the prefix and gateway are added at publish time. */
  eventSuffix: (deviceType: string, device: string) => `events/${deviceType}/${device}`,
  full: (c: TopicContext, suffix: string) => `${base(c)}/${suffix}`,
  cmd: (c: TopicContext, device: string) => `${base(c)}/cmd/${device}`,
  cmdResult: (c: TopicContext, device: string) => `${base(c)}/cmd-result/${device}`,
};
