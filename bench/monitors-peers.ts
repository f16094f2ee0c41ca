// The monitors bench's peers, in their own process so their CPU is not counted as the agent's:
// N loopback ONVIF cameras (the demo's responder: real HTTP, WS-Security digest check, snapshots)
// and one NUT server. Sends {ports, nutPort} over IPC, then runs until killed.

import { NutSimServer } from '../drivers/nut/sim-server.js';
import { OnvifFixture } from '../drivers/onvif/responder.js';

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 50);
  const cams = await Promise.all(Array.from({ length: n }, () => new OnvifFixture().start()));
  const nut = new NutSimServer('bench');
  await nut.start();
  // The sim server unrefs its listener (it lives inside an agent); here it is the process's job.
  setInterval(() => undefined, 60_000);
  process.send?.({ ports: cams.map((c) => c.port), nutPort: nut.port });
}

void main();
