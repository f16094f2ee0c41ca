// The demo's broker: aedes in-process on localhost. It speaks MQTT 3.1.1 only (the uplink falls
// back to it), and sockets get no-delay so the demo's latency is the agent's, not Nagle's.
import { createServer, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedBroker {
  port: number;
  close(): Promise<void>;
}

export async function startEmbeddedBroker(port: number, host = '127.0.0.1'): Promise<EmbeddedBroker> {
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : port,
    // Clients first (server.close would wait for them forever), then the listener.
    close: () =>
      new Promise<void>((resolve) => {
        broker.close(() => {
          for (const s of sockets) s.destroy();
          server.close(() => resolve());
        });
      }),
  };
}
