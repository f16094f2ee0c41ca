// The demo's UPS: a tiny in-process NUT server on 127.0.0.1 (random port), so the sim runs the
// real client and the real protocol path. Answers LIST VAR, GET VAR, USERNAME, PASSWORD, LOGIN,
// LOGOUT for one UPS; its inputs (the page's switches) change ups.status like a mains failure would.
import { createServer, type Server, type Socket } from 'node:net';
import { WardgateError } from '../../agent/errors.js';
import { quote, splitWords } from './protocol.js';

export const NUT_SIM_INPUTS = ['on-battery', 'low-battery', 'driver-lost'] as const;
export type NutSimInput = (typeof NUT_SIM_INPUTS)[number];

export class NutSimServer {
  port = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly inputs: Record<NutSimInput, boolean> = {
    'on-battery': false,
    'low-battery': false,
    'driver-lost': false,
  };

  constructor(private readonly ups: string) {}

  async start(): Promise<void> {
    const server = createServer((s) => this.serve(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    server.unref();
    const addr = server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  set(input: string, active: boolean): void {
    if (!(NUT_SIM_INPUTS as readonly string[]).includes(input)) {
      throw new WardgateError(
        'WG_ERR_HTTP_BAD_REQUEST',
        `UPS sim inputs are ${NUT_SIM_INPUTS.join(', ')}, not ${input}`,
      );
    }
    this.inputs[input as NutSimInput] = active;
  }

  vars(): Record<string, string> {
    const onBattery = this.inputs['on-battery'] || this.inputs['low-battery'];
    const status = [
      onBattery ? 'OB' : 'OL',
      ...(this.inputs['low-battery'] ? ['LB'] : []),
      ...(onBattery ? [] : ['CHRG']),
    ];
    return {
      'battery.charge': this.inputs['low-battery'] ? '8' : onBattery ? '74' : '100',
      'battery.runtime': this.inputs['low-battery'] ? '90' : onBattery ? '1260' : '1800',
      'device.model': 'wardgate sim UPS',
      'ups.load': '23',
      'ups.status': status.join(' '),
    };
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setEncoding('utf8');
    let buf = '';
    socket.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > 4096) socket.destroy();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        socket.write(this.answer(line));
      }
    });
  }

  private answer(line: string): string {
    let w: string[];
    try {
      w = splitWords(line);
    } catch {
      return 'ERR INVALID-ARGUMENT\n';
    }
    const [cmd, sub, ups, name] = w;
    if (cmd === 'USERNAME' || cmd === 'PASSWORD' || cmd === 'LOGIN') return 'OK\n';
    if (cmd === 'LOGOUT') return 'OK Goodbye\n';
    if (cmd !== 'LIST' && cmd !== 'GET') return 'ERR UNKNOWN-COMMAND\n';
    if (sub !== 'VAR') return 'ERR INVALID-ARGUMENT\n';
    if (ups !== this.ups) return 'ERR UNKNOWN-UPS\n';
    if (this.inputs['driver-lost']) return 'ERR DRIVER-NOT-CONNECTED\n';
    const vars = this.vars();
    if (cmd === 'GET') {
      const v = name === undefined ? undefined : vars[name];
      return v === undefined ? 'ERR VAR-NOT-SUPPORTED\n' : `VAR ${this.ups} ${name} ${quote(v)}\n`;
    }
    const body = Object.entries(vars)
      .map(([k, v]) => `VAR ${this.ups} ${k} ${quote(v)}\n`)
      .join('');
    return `BEGIN LIST VAR ${this.ups}\n${body}END LIST VAR ${this.ups}\n`;
  }
}
