// A TCP proxy between the agent and the broker that the test can cut at will: a flapping network.
import { connect, createServer, type Server, type Socket } from 'node:net';

/** Per connection: what to do with each chunk from the target instead of passing it on as is. */
export type ToClient = (client: Socket) => (chunk: Buffer) => void;

export class CuttableProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<[Socket, Socket]>();
  port = 0;
  cuts = 0;
  /** Bytes are swallowed, connections left open: a path that went silent (issue 10's keepalive tests). */
  private silent = false;

  constructor(
    private readonly targetPort: number,
    private readonly targetHost = '127.0.0.1',
    private readonly toClient?: ToClient,
  ) {}

  async start(port = 0): Promise<this> {
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, this.targetHost);
      const pair: [Socket, Socket] = [client, upstream];
      this.pairs.add(pair);
      client.setNoDelay(true);
      upstream.setNoDelay(true);
      if (this.silent) {
        client.resume(); // read and drop: nothing reaches the broker, nothing comes back
        upstream.resume();
      } else {
        client.pipe(upstream);
        if (this.toClient) upstream.on('data', this.toClient(client));
        else upstream.pipe(client);
      }
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      client.on('error', close);
      upstream.on('error', close);
      client.on('close', close);
      upstream.on('close', close);
    });
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', () => resolve()));
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : 0;
    return this;
  }

  /** Cut every open connection mid-stream (RST), as a pulled cable or a dropped NAT entry would. */
  cut(): number {
    let n = 0;
    for (const [a, b] of this.pairs) {
      a.resetAndDestroy();
      b.resetAndDestroy();
      n++;
    }
    this.pairs.clear();
    if (n > 0) this.cuts++;
    return n;
  }

  /** Go silent: every open and new connection stays up but carries nothing (a dead route, no RST). */
  silence(): void {
    this.silent = true;
    for (const [a, b] of this.pairs) {
      a.unpipe(b);
      b.unpipe(a);
      a.resume();
      b.resume();
    }
  }

  /** End the silence: the silent connections are reset, new ones carry data again. */
  restore(): void {
    this.silent = false;
    this.cut();
  }

  get connections(): number {
    return this.pairs.size;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
