// Listening, socket tracking and crash-like shutdown for every fault built on a
// net.Server (http and https servers included), so that stop() really cuts open
// keep-alive connections instead of waiting for them to end.
import type { AddressInfo, Server, Socket } from 'node:net';
import type { FaultContext, FaultHandle } from './context.ts';

export function listenerHandle(server: Server, ctx: FaultContext, protocol: 'http' | 'https'): FaultHandle {
  const sockets = new Set<Socket>();
  // A TLS server emits its raw TCP socket here, so handshake failures count too.
  server.on('connection', (socket: Socket) => {
    ctx.stats.connections++;
    ctx.stats.open++;
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      ctx.stats.open--;
    });
  });
  return {
    protocol,
    listen: (host, port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port }, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    shutdown: async () => {
      ctx.timers.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
