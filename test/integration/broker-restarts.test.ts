// A broker restarted again and again (a crash loop, an operator restarting it during maintenance),
// each time with an alarm queued during the outage (issue 13). Connections that end within seconds
// look like a session takeover (Mosquitto 2.0.11 sends no 0x8E), which waits takeoverMs (30 s) before
// trying again; a broker that was down in between (its port refused the attempts) is not a takeover,
// and each queued alarm must reach the control room as soon as the broker is back.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import { useCleanups } from '../helpers/cleanup.js';
import { testConfig } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const cleanup = useCleanups();
const ROUNDS = 5;

describe('a broker restarted again and again', () => {
  it('is not taken for a session takeover: every alarm queued during an outage goes out when it is back', async () => {
    const broker = await new Mosquitto().start();
    cleanup(() => broker.stop());
    const sub = await new Subscriber(broker.url, 'wardgate/v1/+/events/#').connect();
    cleanup(() => sub.close());
    const config = testConfig({ brokers: [broker.url], buttons: 2 }); // default takeoverMs (30 s)
    const agent = await Agent.start({ config, log: createLogger('fatal') });
    cleanup(() => agent.stop());
    await waitFor(() => agent.uplink.connected, 10_000, 'uplink');
    const takenOver = () => (agent.status().uplink as { sessionTakenOver?: boolean }).sessionTakenOver === true;

    for (let r = 0; r < ROUNDS; r++) {
      await broker.stop(); // each connection lived well under the 5 s of a "quick drop"
      await waitFor(() => !agent.uplink.connected, 10_000, 'the drop noticed');
      const press = await agent.simulate('panic-0', 'button', r % 2 === 0);
      const id = press.accepted[0]?.id;
      expect(id).toBeDefined();
      // Down longer than the backoff cap (500 ms here), so the agent's attempts are refused meanwhile:
      // that is what tells a broker that went away from a client holding our id (which lets every
      // attempt in at once). A restart quicker than the retry delay cannot be told from a takeover.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await broker.start();
      // Bounded well below the takeover delay's lower end (15 s): a suspected takeover fails here.
      await waitFor(() => sub.events().some((e) => e.id === id), 12_000, `round ${r + 1}: the queued alarm`);
      expect(takenOver()).toBe(false);
    }
    expect(takenOver()).toBe(false);
  }, 120_000);
});
