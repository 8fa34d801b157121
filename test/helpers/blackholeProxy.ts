/**
 * A TCP proxy in front of LocalStack that can turn into a black hole: after `blackhole()`, it keeps
 * every connection open and accepts new ones, but forwards nothing either way — the network failure
 * that is hardest on a client (no error, no reset, just silence), as a partitioned host sees it.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface BlackholeProxy {
  /** The endpoint to give SDK clients. */
  endpoint: string;
  /** From now on, nothing gets through, in either direction. */
  blackhole(): void;
  close(): Promise<void>;
}

export async function blackholeProxy(target: URL): Promise<BlackholeProxy> {
  let holed = false;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server = createServer((client) => {
    track(client);
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    track(upstream);
    client.on('data', (chunk) => {
      if (!holed) upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!holed) client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => {
      if (!holed) client.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    blackhole: () => {
      holed = true;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
