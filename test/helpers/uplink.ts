// An Uplink for tests: one broker, quick retries, a will on the client's own status topic.
import type { Logger } from 'pino';
import { Uplink } from '../../agent/uplink/mqtt.js';

export function testUplink(url: string, clientId: string, log: Logger): Uplink {
  return new Uplink({
    brokers: [url],
    protocol: 'auto',
    clientId,
    keepaliveSec: 5,
    connectTimeoutMs: 2000,
    backoff: { minMs: 20, maxMs: 100 },
    will: { topic: `wardgate/v1/${clientId}/status`, payload: '{"state":"offline"}' },
    log,
  });
}
