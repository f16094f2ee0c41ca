// Bytes allocated while `run` runs, by where, from V8's sampling heap profiler with collected
// objects included (garbage counts: it is what the collector then has to collect).
import { Session } from 'node:inspector';

interface SampleNode {
  callFrame: { url: string; functionName: string };
  selfSize: number;
  children: SampleNode[];
}

export interface MqttjsGarbage {
  /** In the `debug` package, called from mqtt.js's client (its disabled logger). */
  debug: number;
  /** In mqtt.js's KeepaliveManager (a timer restarted per packet). */
  keepalive: number;
  all: number;
}

export async function mqttjsGarbage(run: () => Promise<void>): Promise<MqttjsGarbage> {
  const session = new Session();
  session.connect();
  const post = <T>(method: string, params?: object) =>
    new Promise<T>((resolve, reject) =>
      session.post(method, params, (err, res) => (err ? reject(err) : resolve(res as T))),
    );
  try {
    await post('HeapProfiler.startSampling', {
      samplingInterval: 256,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    await run();
    const { profile } = await post<{ profile: { head: SampleNode } }>('HeapProfiler.stopSampling');
    const bytes = { debug: 0, keepalive: 0, all: 0 };
    const walk = (n: SampleNode, parentUrl: string) => {
      const url = n.callFrame.url;
      bytes.all += n.selfSize;
      if (/\/debug\/src\//.test(url) && /\/mqtt\/build\/lib\//.test(parentUrl)) bytes.debug += n.selfSize;
      if (/\/mqtt\/build\/lib\/KeepaliveManager/.test(url)) bytes.keepalive += n.selfSize;
      for (const c of n.children) walk(c, url);
    };
    walk(profile.head, '');
    return bytes;
  } finally {
    session.disconnect();
  }
}
