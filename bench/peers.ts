// Side by side (issue 13): HTTP press → central subscriber for wardgate (the real CLI, durable),
// the hand-written durable reference (bench/reference.ts) and, with --peers, Node-RED 4 (http in
// → mqtt out, not durable), all on one Mosquitto, in interleaved rounds (the order rotates each
// round, so drift on a shared VM hits every contender alike). Each round: presses one at a time
// (press, then release; the press is timed). Reported as median-of-rounds ratios with their
// spread [min–max]; absolutes per contender in raw. Also wardgate's own per-stage timeline of the
// same presses, read from its /metrics histograms (wardgate_alarm_stage_seconds).
import { get } from 'node:http';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { BENCH_TOKEN, type Contender, startNodeRed, startReference, startWardgate, WARDGATE_GW } from './contenders.js';
import { connectRaw } from './floors.js';
import { type Check, flag, isMain, option, result, round, runMain, stopBroker, summary, tempDir } from './util.js';

type Summary = ReturnType<typeof summary>;

function metricsText(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/metrics', headers: { authorization: `Bearer ${BENCH_TOKEN}` } }, (res) => {
      let s = '';
      res.on('data', (d) => {
        s += d;
      });
      res.on('end', () => resolve(s));
    }).on('error', reject);
  });
}

function statusText(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get(
      { host: '127.0.0.1', port, path: '/api/status', headers: { authorization: `Bearer ${BENCH_TOKEN}` } },
      (res) => {
        let s = '';
        res.on('data', (d) => {
          s += d;
        });
        res.on('end', () => resolve(s));
      },
    ).on('error', reject);
  });
}

/** Mean ms per stage from the histograms' _sum/_count. */
function stageMeans(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const sums = new Map<string, number>();
  for (const m of text.matchAll(/^wardgate_alarm_stage_seconds_(sum|count)\{stage="(\w+)"\} ([\d.e+-]+)$/gm)) {
    const [, kind, stage, v] = m as unknown as [string, string, string, string];
    if (kind === 'sum') sums.set(stage, Number(v));
    else out[stage] = Number(v);
  }
  for (const [stage, n] of Object.entries(out)) out[stage] = round(((sums.get(stage) ?? 0) / (n || 1)) * 1000, 4);
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2
    ? (s[(s.length - 1) / 2] as number)
    : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

export function ratioCheck(what: string, per: number[], target: number | null, floorWhat: string): Check {
  const m = median(per);
  return {
    what: `${what} [rounds ${round(Math.min(...per), 2)}–${round(Math.max(...per), 2)}]`,
    value: round(m, 2),
    unit: '×',
    floorWhat,
    ratio: round(m, 2),
    target: target === null ? '—' : `≤ ${target}×`,
    pass: target === null ? null : m <= target,
  };
}

export async function peers() {
  const quick = flag('quick');
  const withNodeRed = flag('peers');
  const rounds = option('rounds', quick ? 3 : 5);
  const presses = option('presses', quick ? 150 : 400);
  const warmup = option('warmup', quick ? 50 : 200);
  const tmp = tempDir('peers');
  const mosq = new Mosquitto();
  const contenders: Contender[] = [];
  let sub: Awaited<ReturnType<typeof connectRaw>> | undefined;
  try {
    await mosq.start();
    sub = await connectRaw(mosq.url, `central-peers-${process.pid}`);
    const waiters = new Map<string, (t: number) => void>();
    sub.on('message', (topic, payload) => {
      const t = performance.now();
      const kind = payload.includes('"panic.pressed"') ? 1 : payload.includes('"panic.released"') ? 0 : -1;
      if (kind < 0) return; // availability events and the like
      const key = `${topic.split('/')[0]}:${kind}`;
      const w = waiters.get(key);
      if (w) {
        waiters.delete(key);
        w(t);
      }
    });
    const wg = await startWardgate(tmp.dir, mosq.url);
    contenders.push(wg.contender);
    contenders.push(await startReference(tmp.dir, mosq.url));
    if (withNodeRed) contenders.push(await startNodeRed(tmp.dir, mosq.port));
    for (const c of contenders) await sub.subscribeAsync(c.filter, { qos: 1 });
    const prefixOf = (c: Contender) => c.filter.split('/')[0] as string;

    let httpMs = 0;
    /** One press or release, HTTP send → subscriber receipt (ms), bounded; `httpMs`: → the HTTP answer. */
    let n = 0;
    const one = async (c: Contender, active: boolean, timeoutMs = 5000): Promise<number> => {
      const key = `${prefixOf(c)}:${active ? 1 : 0}`;
      let timer: NodeJS.Timeout | undefined;
      const got = new Promise<number>((resolve, reject) => {
        waiters.set(key, resolve);
        timer = setTimeout(() => reject(new Error(`${c.name}: no message in ${timeoutMs} ms`)), timeoutMs);
      });
      const t0 = performance.now();
      if (active) n++; // the release goes to the button just pressed
      const answered = c.press(active, n).then((status) => {
        httpMs = performance.now() - t0;
        return status;
      });
      const [t, status] = await Promise.all([got, answered]).finally(() => clearTimeout(timer));
      if (status < 200 || status >= 300) throw new Error(`${c.name}: HTTP ${status}`);
      return t - t0;
    };
    // Ready: each answers a press at the subscriber (Node-RED and the CLI take seconds to start).
    for (const c of contenders) {
      const deadline = Date.now() + 90_000;
      for (;;) {
        try {
          await one(c, true, 2000);
          await one(c, false, 2000);
          break;
        } catch (err) {
          waiters.clear();
          if (Date.now() > deadline) throw err;
          await new Promise((r) => setTimeout(r, 500));
        }
      }
      for (let i = 0; i < warmup; i++) {
        await one(c, true);
        await one(c, false);
      }
    }
    const perRound: Record<string, Summary[]> = Object.fromEntries(contenders.map((c) => [c.name, []]));
    /** Press → HTTP answer (durable for wardgate and the reference; Node-RED answers without a disk). */
    const httpRound: Record<string, Summary[]> = Object.fromEntries(contenders.map((c) => [c.name, []]));
    for (let r = 0; r < rounds; r++) {
      const order = contenders.map((_, i) => contenders[(i + r) % contenders.length] as Contender);
      for (const c of order) {
        const samples: number[] = [];
        const answers: number[] = [];
        for (let i = 0; i < presses; i++) {
          samples.push(
            await one(c, true).catch(async (err) => {
              if (c.name === 'wardgate') {
                const st = await statusText(wg.port).catch((e) => String(e));
                process.stderr.write(`[bench] wardgate status at the miss: ${st.slice(0, 3000)}\n`);
              }
              throw err;
            }),
          );
          answers.push(httpMs);
          await one(c, false);
        }
        (perRound[c.name] as Summary[]).push(summary(samples));
        (httpRound[c.name] as Summary[]).push(summary(answers));
      }
      process.stderr.write(
        `[bench] peers round ${r + 1}/${rounds}: ${contenders.map((c) => `${c.name} p50 ${round((perRound[c.name] as Summary[])[r]?.p50 ?? 0, 2)} p99 ${round((perRound[c.name] as Summary[])[r]?.p99 ?? 0, 2)} (http p50 ${round((httpRound[c.name] as Summary[])[r]?.p50 ?? 0, 2)})`).join(', ')}\n`,
      );
    }
    const stages = stageMeans(await metricsText(wg.port));
    const W = perRound.wardgate as Summary[];
    const R = perRound.reference as Summary[];
    const N = perRound['node-red'];
    const ratio = (a: Summary[], b: Summary[], k: 'p50' | 'p99' | 'max') =>
      a.map((x, i) => x[k] / (b[i] as Summary)[k]);
    const checks: Check[] = [
      ratioCheck(
        'alarm p50 wardgate / reference',
        ratio(W, R, 'p50'),
        1.2,
        'hand-written durable reference, same round',
      ),
      ratioCheck(
        'alarm p99 wardgate / reference',
        ratio(W, R, 'p99'),
        1.3,
        'hand-written durable reference, same round',
      ),
      ratioCheck('alarm max wardgate / reference', ratio(W, R, 'max'), null, 'same round'),
    ];
    if (N) {
      checks.push(
        ratioCheck(
          'alarm p99 wardgate / Node-RED',
          ratio(W, N, 'p99'),
          0.8,
          'Node-RED 4 http in → mqtt out, same round',
        ),
      );
      checks.push(ratioCheck('alarm p50 wardgate / Node-RED', ratio(W, N, 'p50'), null, 'same round'));
    }
    for (const c of contenders) {
      const s = perRound[c.name] as Summary[];
      checks.push({
        what: `${c.name} press → subscriber p50 / p99 / max (median of rounds)`,
        value: round(median(s.map((x) => x.p50)), 3),
        unit: `ms / ${round(median(s.map((x) => x.p99)), 2)} / ${round(median(s.map((x) => x.max)), 1)} ms`,
        target: '—',
        pass: null,
      });
    }
    checks.push({
      what: `wardgate stage means (ms): ${Object.entries(stages)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
      value: stages.total ?? 0,
      unit: 'ms total (input → PUBACK)',
      target: '—',
      pass: null,
    });
    return result(
      'peers',
      'Alarm press → subscriber, side by side (HTTP in, one Mosquitto, interleaved rounds)',
      { rounds, presses, warmup, contenders: contenders.map((c) => c.name), gateway: WARDGATE_GW, qos: 1 },
      checks,
      { perRound, httpRound, stageMeansMs: stages },
    );
  } finally {
    for (const c of contenders) await c.stop().catch(() => undefined);
    await sub?.endAsync(true).catch(() => undefined);
    await stopBroker(mosq);
    tmp.cleanup();
  }
}

if (isMain(import.meta.url)) runMain(peers);
