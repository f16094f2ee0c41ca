import { request, Agent } from 'node:http';
import mqtt from 'mqtt';
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const post = (path, body, headers) => new Promise((res, rej) => { const r = request({ host: '127.0.0.1', port: Number(process.argv[2]), path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } }, (x) => { x.resume(); x.on('end', () => res(x.statusCode)); }); r.on('error', rej); r.end(body); });
const sub = mqtt.connect('mqtt://127.0.0.1:18830', { protocolVersion: 5 });
await new Promise((r) => sub.once('connect', r));
sub.stream.setNoDelay(true);
await sub.subscribeAsync(process.argv[3], { qos: 1 });
let waiter;
sub.on('message', (t, p) => { if (waiter && (p.includes('"panic.pressed"') || p.includes('"panic.released"'))) { const w = waiter; waiter = undefined; w(performance.now()); } });
const auth = { authorization: 'Bearer tok-0123456789abcdef0123' };
const lat = []; const http = [];
for (let i = 0; i < Number(process.argv[4] ?? 2000); i++) {
  for (const active of [true, false]) {
    const got = new Promise((r) => { waiter = r; });
    const t0 = performance.now();
    const st = await post((process.argv[5] === "ref" ? `/press?device=panic-0&active=${active ? 1 : 0}` : `/api/sim/panic-${i % 40}/button`), JSON.stringify({ active }), auth);
    const th = performance.now();
    const t = await got;
    if (active) { lat.push(t - t0); http.push(th - t0); }
    if (st !== 200) throw new Error('status ' + st);
  }
}
const q = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(p * (s.length - 1))].toFixed(3); };
console.log('press→sub p50', q(lat, 0.5), 'p99', q(lat, 0.99), ' http p50', q(http, 0.5));
sub.end();
process.exit(0);
