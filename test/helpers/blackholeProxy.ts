/**
 * A TCP proxy in front of LocalStack that can turn into a black hole: after `blackhole()`, it keeps
 * every connection open and accepts new ones, but forwards nothing either way — the network failure
 * that is hardest on a client (no error, no reset, just silence), as a partitioned host sees it.
 * It can also hold answers back (`holdAnswers()`): requests reach the server, and what it answers
 * waits at the proxy until `release()` — a slow network, as a caller that gives up meanwhile sees it.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface BlackholeProxy {
  /** The endpoint to give SDK clients. */
  endpoint: string;
  /** From now on, nothing gets through, in either direction. */
  blackhole(): void;
  /** From now on, answers wait at the proxy; resolves once the first one is held. */
  holdAnswers(): Promise<void>;
  /** Delivers the answers held, and lets the next ones through. */
  release(): void;
  close(): Promise<void>;
}

export async function blackholeProxy(target: URL): Promise<BlackholeProxy> {
  let holed = false;
  let holding = false;
  const held: { client: Socket; chunk: Buffer }[] = [];
  let answerHeld: (() => void) | undefined;
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
    upstream.on('data', (chunk: Buffer) => {
      if (holed) return;
      if (!holding) return void client.write(chunk);
      held.push({ client, chunk });
      answerHeld?.();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => {
      if (!holed && !holding) client.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    blackhole: () => {
      holed = true;
    },
    holdAnswers: () => {
      holding = true;
      return new Promise<void>((resolve) => (answerHeld = resolve));
    },
    release: () => {
      holding = false;
      for (const { client, chunk } of held.splice(0)) if (!client.destroyed) client.write(chunk);
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
