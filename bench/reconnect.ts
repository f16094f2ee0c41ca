// Broker back → first queued alarm at the subscriber (issue 13), with the default config (no
// mqtt.backoff in it): the real CLI connected, the broker stopped, an alarm pressed during the
// outage (HTTP 200: durable, queued), the broker started again on the same port after `--outage`
// seconds (long enough for the backoff to reach its cap), and the time from the broker accepting
// connections to the alarm's arrival at a persistent subscriber (its session survives the restart,
// so nothing depends on who reconnects first). Several rounds; median and max reported.
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { type Contender, startWardgate } from './contenders.js';
import { type Check, flag, isMain, option, result, round, runMain, sleep, stopBroker, tempDir } from './util.js';

export async function reconnect() {
  const quick = flag('quick');
  const rounds = option('rounds', quick ? 2 : 3);
  const outageMs = option('outage', quick ? 8 : 20) * 1000;
  const tmp = tempDir('reconnect');
  const mosq = new Mosquitto();
  const contenders: Contender[] = [];
  let sub: { endAsync(force?: boolean): Promise<unknown> } | undefined;
  try {
    await mosq.start();
    const { default: mqtt } = await import('mqtt');
    const client = mqtt.connect(mosq.url, {
      clientId: `central-reconnect-${process.pid}`,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
      reconnectPeriod: 20,
    });
    client.on('error', () => {});
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    sub = client;
    let arrived: { topic: string; t: number } | undefined;
    client.on('message', (topic, payload) => {
      if (!arrived && payload.includes('"panic.pressed"')) arrived = { topic, t: performance.now() };
    });
    const wg = await startWardgate(tmp.dir, mosq.url);
    contenders.push(wg.contender);
    await client.subscribeAsync(wg.contender.filter, { qos: 1 });
    // Ready: a press reaches the subscriber.
    for (let deadline = Date.now() + 60_000; ; ) {
      arrived = undefined;
      await wg.contender.press(true).catch(() => 0);
      await sleep(300);
      await wg.contender.press(false).catch(() => 0);
      if (arrived) break;
      if (Date.now() > deadline) throw new Error('wardgate never delivered a press');
    }
    const delays: number[] = [];
    for (let r = 0; r < rounds; r++) {
      await mosq.stop();
      await sleep(outageMs / 2);
      arrived = undefined;
      const status = await wg.contender.press(true);
      if (status !== 200) throw new Error(`press during the outage: HTTP ${status} (expected 200: durable)`);
      await sleep(outageMs / 2);
      await mosq.start();
      const back = performance.now();
      const deadline = Date.now() + 60_000;
      while (!arrived && Date.now() < deadline) await sleep(5);
      if (!arrived) throw new Error(`round ${r + 1}: the queued alarm never arrived`);
      delays.push((arrived as { t: number }).t - back);
      process.stderr.write(`[bench] reconnect round ${r + 1}/${rounds}: ${round(delays.at(-1) as number, 0)} ms\n`);
      await wg.contender.press(false);
      await sleep(2000); // connected and settled before the next outage
    }
    const sorted = [...delays].sort((a, b) => a - b);
    const med = sorted[Math.floor((sorted.length - 1) / 2)] as number;
    const checks: Check[] = [
      {
        what: `broker back → first queued alarm at the subscriber, default config (median of ${rounds}, max ${round(Math.max(...delays), 0)} ms)`,
        value: round(med, 0),
        unit: 'ms',
        target: '≤ 2000 ms',
        pass: med <= 2000,
      },
    ];
    return result(
      'reconnect',
      'Broker back → first queued alarm (default backoff)',
      { rounds, outageMs, config: 'default mqtt.backoff (minMs 500, maxMs 1500)' },
      checks,
      { delaysMs: delays.map((d) => round(d, 1)) },
    );
  } finally {
    for (const c of contenders) await c.stop().catch(() => undefined);
    await sub?.endAsync(true).catch(() => undefined);
    await stopBroker(mosq);
    tmp.cleanup();
  }
}

if (isMain(import.meta.url)) runMain(reconnect);
