// The uplink logs once per state change (issue 7, item 8): a broker refusing for an hour is one
// warning, failing over between two dead brokers one per broker, a reconnect makes failures news
// again, and a broker that refuses MQTT 5 is said once until it accepts 5.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../agent/log.js';
import type { ConnectPolicy } from '../../agent/uplink/connect-policy.js';
import { UplinkReport } from '../../agent/uplink/report.js';

function setup(takenOver = false) {
  const lines: Array<{ level: number; msg: string; n?: number }> = [];
  const policy = { takenOver } as ConnectPolicy;
  const log = createLogger('debug', { write: (s: string) => lines.push(JSON.parse(s)) });
  const report = new UplinkReport(policy, log);
  const said = () => lines.filter((l) => l.level > 20).map((l) => `${l.level} ${l.msg} ${l.n ?? ''}`.trim());
  return { report, policy, said, lines };
}

describe('UplinkReport', () => {
  it('logs a repeated failure once, per broker, and again after a connection', () => {
    const { report, said, lines } = setup();
    for (let n = 0; n < 10; n++) {
      report.log1('mqtt://a', 'fail:ECONNREFUSED', 'warn', { n }, 'broker connection failed');
      report.log1('mqtt://b', 'fail:ETIMEDOUT', 'warn', { n }, 'broker connection failed');
    }
    report.log1('mqtt://a', 'fail:0x86 bad user name or password', 'warn', { n: 10 }, 'broker connection failed');
    report.log1('mqtt://b', 'up', 'info', {}, 'broker connected');
    report.log1('mqtt://a', 'fail:0x86 bad user name or password', 'warn', { n: 11 }, 'broker connection failed');
    expect(said()).toEqual([
      '40 broker connection failed 0',
      '40 broker connection failed 0',
      '40 broker connection failed 10',
      '30 broker connected',
      '40 broker connection failed 11',
    ]);
    expect(lines.filter((l) => l.level === 20)).toHaveLength(18); // the repeats, at debug
  });

  it('says once that a broker refuses MQTT 5, until it accepts 5', () => {
    const { report, said } = setup();
    for (let i = 0; i < 3; i++) {
      report.log1('v5:mqtt://a', 'refused', 'warn', {}, 'no MQTT 5');
      report.log1('mqtt://a', 'up', 'info', {}, 'connected 3.1.1');
    }
    report.forget('v5:mqtt://a'); // an MQTT 5 connection
    report.log1('v5:mqtt://a', 'refused', 'warn', {}, 'no MQTT 5');
    expect(said()).toEqual(['40 no MQTT 5', '30 connected 3.1.1', '40 no MQTT 5']);
  });

  it('a session fought over is one state: connects and drops under it go to debug', () => {
    const { report, policy, said } = setup();
    report.log1('mqtt://a', 'up', 'info', {}, 'broker connected');
    policy.takenOver = true;
    for (let i = 0; i < 5; i++) {
      report.log1('mqtt://a', 'takeover', 'error', {}, 'session taken over');
      report.log1('mqtt://a', 'up', 'info', {}, 'broker connected');
    }
    policy.takenOver = false;
    report.stable(true, 'mqtt://a');
    expect(said()).toEqual([
      '30 broker connected',
      '50 session taken over',
      '30 broker connection stable again: session no longer taken over',
    ]);
  });

  it('keeps the takeover code and hint while taken over, clears ordinary errors on connect', () => {
    const { report, policy } = setup();
    report.setError('ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1883');
    expect(report.stats).toMatchObject({
      lastErrorCode: 'WG_ERR_UPLINK_CONNECT',
      hint: expect.stringMatching(/broker running/),
    });
    report.setError(null);
    expect(report.stats).toMatchObject({ lastError: null, lastErrorCode: null, hint: null });
    policy.takenOver = true;
    report.setError('connection closed by the broker or the network');
    report.setError(null); // the next CONNACK does not clear it
    expect(report.stats).toMatchObject({
      sessionTakenOver: true,
      lastErrorCode: 'WG_ERR_UPLINK_SESSION_TAKEN_OVER',
      hint: expect.stringMatching(/gateway\.id/),
    });
  });
});
