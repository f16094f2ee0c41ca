// Live reload under load (issue 12): the real agent process takes presses on its sim buttons the
// whole time while its config file is changed and SIGHUP sent: a device added, one removed, a
// debounce changed, the file broken (refused, still running), fixed, the mqtt section changed
// (reconnect). Every accepted event reaches the subscriber, in order per lane; the camera driver,
// which none of this touches, is never restarted; RELOADING=1 / READY=1 arrive on a real notify
// socket around every reload.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { OnvifFixture } from '../fixtures/onvif/server.js';
import { AgentProcess } from '../helpers/agent-process.js';
import { laneOrderViolations } from '../helpers/checks.js';
import { TEST_TOKEN, tempDir, testConfigDoc } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { NotifySocket } from '../helpers/notify-socket.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const cleanups: Array<() => unknown> = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Status {
  drivers: Record<string, { starts: number; up: boolean }>;
  reload: {
    last: {
      at: string;
      outcome: string;
      error?: { code: string; problems: string[] };
      restartedDrivers: string[];
    } | null;
  };
}

describe('live reload under load', () => {
  it('adds, removes, changes, refuses a broken file and reconnects without losing or reordering events', async () => {
    const dir = tempDir('wg-reload-');
    const broker = await new Mosquitto().start();
    cleanups.push(() => broker.stop());
    const sub = await new Subscriber(broker.url).connect();
    cleanups.push(() => sub.close());
    const cam = await new OnvifFixture().start();
    cleanups.push(() => cam.stop());
    const notifySocket = await new NotifySocket(dir).start();
    cleanups.push(() => notifySocket.stop());
    const webPort = await freePort();

    const doc = testConfigDoc({ brokers: [broker.url], dataDir: join(dir, 'data'), buttons: 4, webPort }) as {
      devices: Array<Record<string, unknown>>;
      mqtt: Record<string, unknown>;
    };
    doc.devices.push({
      id: 'cam-1',
      type: 'camera',
      covers: 'ward 3 corridor',
      onvif: { host: '127.0.0.1', port: cam.port, username: 'admin', password: 'cam-secret' },
    });
    const cfgPath = join(dir, 'config.yaml');
    const write = () => writeFileSync(cfgPath, stringify(doc));
    write();
    const agent = new AgentProcess(cfgPath, { NOTIFY_SOCKET: notifySocket.path });
    cleanups.push(() => agent.kill());
    await agent.start();

    const api = async <T>(path: string): Promise<T> => {
      const res = await fetch(`http://127.0.0.1:${webPort}${path}`, {
        headers: { authorization: `Bearer ${TEST_TOKEN}` },
      });
      return (await res.json()) as T;
    };
    await waitFor(
      async () => (await api<Status>('/api/status')).drivers.onvif?.up === true,
      20_000,
      'camera driver up',
    );
    /**
     * Whether a new subscriber gets `device`'s retained state. Subscribed before panic-0's on one
     * connection: the broker sends a subscription's retained messages in order, so once panic-0's
     * has arrived, `device`'s would have too.
     */
    const hasRetainedState = async (device: string): Promise<boolean> => {
      const c = await mqtt.connectAsync(broker.url, { clean: true, protocolVersion: 5 });
      try {
        let found = false;
        const marker = new Promise<void>((resolve) =>
          c.on('message', (topic, payload, packet) => {
            if (topic.endsWith(`/state/${device}`) && packet.retain && payload.length > 0) found = true;
            if (topic.endsWith('/state/panic-0')) resolve();
          }),
        );
        await c.subscribeAsync(`wardgate/v1/+/state/${device}`, { qos: 1 });
        await c.subscribeAsync('wardgate/v1/+/state/panic-0', { qos: 1 });
        await marker;
        return found;
      } finally {
        await c.endAsync();
      }
    };
    const camStarts = (await api<Status>('/api/status')).drivers.onvif?.starts;
    expect(camStarts).toBe(1);

    // Load: presses on every configured button, all the time.
    const pressing = new Set(['panic-0', 'panic-1', 'panic-2', 'panic-3']);
    const accepted = new Set<string>();
    let stop = false;
    const worker = async (w: number) => {
      let active = false;
      let i = 0;
      while (!stop) {
        const ids = [...pressing];
        const device = ids[(w + i++) % ids.length] as string;
        active = !active;
        const res = await fetch(`http://127.0.0.1:${webPort}/api/sim/${device}/button`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ active }),
        }).catch(() => undefined);
        // Refused while its GPIO line restarts, or just removed: nothing was promised.
        if (res?.ok)
          for (const e of ((await res.json()) as { accepted: Array<{ id: string }> }).accepted) accepted.add(e.id);
        else await new Promise((r) => setTimeout(r, 5));
      }
    };
    const workers = [0, 1, 2].map(worker);

    let lastAt = '';
    const reload = async (expected: string): Promise<Status> => {
      const before = accepted.size;
      await waitFor(() => accepted.size > before + 20, 30_000, 'events flowing before the reload');
      process.kill(agent.pid as number, 'SIGHUP');
      let st: Status | undefined;
      await waitFor(
        async () => {
          st = await api<Status>('/api/status');
          return (st.reload.last?.at ?? '') !== lastAt && st.reload.last !== null;
        },
        30_000,
        `reload (${expected})`,
      );
      const s = st as Status;
      lastAt = s.reload.last?.at ?? '';
      expect(s.reload.last?.outcome).toBe(expected);
      return s;
    };

    // 1. Add a device: the GPIO driver takes its line; the camera driver is untouched.
    doc.devices.push({
      id: 'panic-4',
      type: 'panic-button',
      input: { line: 104 },
      debounceMs: 0,
      minHoldMs: 0,
      severity: 'critical',
    });
    write();
    let st = await reload('applied');
    expect(st.reload.last?.restartedDrivers).toEqual(['gpio']);
    pressing.add('panic-4');
    // 2. Remove one (stop pressing it first: a removed device's presses are refused).
    pressing.delete('panic-3');
    expect(await hasRetainedState('panic-3')).toBe(true);
    doc.devices = doc.devices.filter((d) => d.id !== 'panic-3');
    write();
    await reload('applied');
    // Its retained state is cleared at the broker: a new subscriber sees no such device.
    await waitFor(async () => !(await hasRetainedState('panic-3')), 20_000, 'panic-3 state cleared');
    expect(await hasRetainedState('panic-4')).toBe(true);
    // 3. Change a debounce.
    (doc.devices.find((d) => d.id === 'panic-2') as Record<string, unknown>).debounceMs = 5;
    write();
    await reload('applied');
    // 4. Break the file: refused, the agent keeps running the previous config.
    writeFileSync(cfgPath, `${stringify(doc)}\nmqtt: [this is not a mapping\n`);
    st = await reload('invalid');
    expect(st.reload.last?.error?.code).toBe('WG_ERR_RELOAD_INVALID');
    expect(st.reload.last?.error?.problems.length).toBeGreaterThan(0);
    (doc.devices.find((d) => d.id === 'panic-1') as Record<string, unknown>).minHoldMs = 0;
    // 5. Fix it, changing the mqtt section: the uplink reconnects.
    doc.mqtt.keepaliveSec = 7;
    write();
    st = await reload('applied');
    expect(st.reload.last?.restartedDrivers).toEqual([]);
    const grown = accepted.size;
    await waitFor(() => accepted.size > grown + 20, 30_000, 'events flowing after the reloads');
    stop = true;
    await Promise.all(workers);

    // The presses are alarms; gateway.config_reloaded is normal and may go after them: wait for both.
    const countOf = (type: string) => sub.uniqueEvents().filter((e) => e.type === type).length;
    await waitFor(
      () => {
        const got = new Set(sub.events().map((e) => e.id));
        return (
          [...accepted].every((id) => got.has(id)) &&
          countOf('gateway.config_reloaded') >= 4 &&
          countOf('gateway.config_reload_failed') >= 1
        );
      },
      60_000,
      `all ${accepted.size} accepted events and the reload events at the subscriber`,
    );
    const events = sub.events();
    expect(laneOrderViolations(events)).toEqual([]);
    st = await api<Status>('/api/status');
    expect(st.drivers.onvif?.starts).toBe(camStarts); // never restarted
    const types = sub.uniqueEvents().map((e) => e.type);
    expect(types.filter((t) => t === 'gateway.config_reloaded')).toHaveLength(4);
    expect(types.filter((t) => t === 'gateway.config_reload_failed')).toHaveLength(1);
    const reloaded = sub.uniqueEvents().filter((e) => e.type === 'gateway.config_reloaded');
    expect(JSON.stringify(reloaded)).not.toContain('cam-secret');
    expect(reloaded[0]?.data).toMatchObject({
      source: 'sighup',
      changes: [{ section: 'devices', id: 'panic-4', op: 'added' }],
    });
    // The status topic said online again after the reconnect.
    const online = sub.messages.filter((m) => m.topic.endsWith('/status') && m.payload.includes('"online"'));
    expect(online.length).toBeGreaterThanOrEqual(2);

    // sd_notify around each of the five reloads, on a real datagram socket.
    await waitFor(
      () => notifySocket.states().filter((s) => s === 'READY=1').length >= 6,
      10_000,
      'READY after each reload',
    );
    const states = notifySocket.states();
    expect(states[0]).toBe('READY=1');
    expect(states.slice(1, 11)).toEqual(Array.from({ length: 5 }, () => ['RELOADING=1', 'READY=1']).flat());
    expect(
      notifySocket.datagrams.filter((d) => d.includes('RELOADING=1')).every((d) => /MONOTONIC_USEC=\d+/.test(d)),
    ).toBe(true);
    console.log(
      `reload under load: ${accepted.size} events accepted and delivered across 5 reloads, 0 lost, 0 reordered`,
    );
  }, 300_000);
});
