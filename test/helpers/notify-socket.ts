// A real sd_notify datagram socket (NOTIFY_SOCKET) for tests: a small Python receiver on an
// AF_UNIX SOCK_DGRAM socket (Node has no Unix datagram sockets) that prints every datagram as a
// JSON line and closes the file descriptors passed with BARRIER=1 at once, as systemd does, so
// systemd-notify's barrier returns.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from './ports.js';

const RECEIVER = `
import json, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
while True:
    data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            for i in range(0, len(payload) - len(payload) % 4, 4):
                os.close(int.from_bytes(payload[i:i + 4], sys.byteorder))
    print(json.dumps(data.decode()), flush=True)
`;

export class NotifySocket {
  readonly path: string;
  private proc: ChildProcess | undefined;
  /** Each datagram received, in order. */
  readonly datagrams: string[] = [];

  constructor(dir: string) {
    this.path = join(dir, 'notify.sock');
  }

  async start(): Promise<this> {
    const proc = spawn('/usr/bin/python3', ['-c', RECEIVER, this.path], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.proc = proc;
    let buf = '';
    proc.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) if (l) this.datagrams.push(JSON.parse(l) as string);
    });
    await waitFor(() => existsSync(this.path), 10_000, 'notify socket bound');
    return this;
  }

  /** The state assignments (READY=1, RELOADING=1, ...) in order, without MAINPID/BARRIER/MONOTONIC_USEC. */
  states(): string[] {
    return this.datagrams.flatMap((d) =>
      d.split('\n').filter((l) => l && !/^(MAINPID|BARRIER|MONOTONIC_USEC)=/.test(l)),
    );
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  }
}
