// The demo's broker: aedes in-process on localhost. It speaks MQTT 3.1.1 only (the uplink falls
// back to it), and sockets get no-delay so the demo's latency is the agent's, not Nagle's.
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBroker {
  port: number;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(port: number, host = '127.0.0.1'): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => broker.close(() => resolve()));
      }),
  };
}
