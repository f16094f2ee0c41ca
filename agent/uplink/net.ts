// Small network helpers of the uplink: a broker URL fit for logs, and a bare TCP probe.
import { connect } from 'node:net';
import type { MqttClient } from 'mqtt';

export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** Does anything accept a TCP connection at this broker URL's host and port? */
export function probeTcp(url: string, timeoutMs: number): Promise<boolean> {
  const u = new URL(url);
  const defaults: Record<string, number> = {
    'mqtt:': 1883,
    'tcp:': 1883,
    'mqtts:': 8883,
    'tls:': 8883,
    'ssl:': 8883,
    'ws:': 80,
    'wss:': 443,
  };
  const port = u.port ? Number(u.port) : (defaults[u.protocol] ?? 1883);
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** Resolves true if `p` settles within `ms`, false otherwise (never rejects). */
export function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
    timer.unref?.();
  });
  return Promise.race([
    p.then(
      () => true,
      () => true,
    ),
    timeout,
  ]).finally(() => clearTimeout(timer));
}

/**
 * A clean DISCONNECT (no will), bounded: mqtt.js's end(false) waits for every PUBACK, forever
 * with a broker that never sends them (issue 7: a stop hung 90 s). Unacknowledged publishes are
 * forgotten here (their callbacks fail); their rows stay in the outbox for the next connection.
 */
export async function endGracefully(client: MqttClient, ms: number): Promise<void> {
  client.removeAllListeners();
  client.on('error', () => {}); // a late socket error on a discarded client must not crash the agent
  for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
  const ended = new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
  await within(ended, ms);
  // Connected, end() calls back once the socket closed; otherwise (still connecting, already
  // disconnecting) at once, with the socket maybe still open: no socket may outlive this.
  client.stream?.destroy();
}
