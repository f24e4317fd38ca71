import { type Server, type Socket, createServer } from 'node:net';
import type { TlsOptions } from 'node:tls';
import { TurnSweep } from '../../http1/turn-sweep.ts';
import { type ConnectionHost, H1Connection, type H1Handlers, type H1Limits, PARK_AFTER_MS } from './connection.ts';

export type H1Server = {
  readonly server: Server;
  /** Closes the connections with nothing in flight, and every other one once its response is done. */
  closeIdle(): void;
  /** Closes every connection. */
  closeAll(): void;
};

/**
 * The gateway's HTTP/1.1 server, in clear or over TLS: a connection per socket
 * (connection.ts), and one sweep that enforces every connection's time limits, a timer
 * for the listener instead of timers per request.
 */
export function createH1Server(tls: TlsOptions | null, limits: H1Limits, handlers: H1Handlers): H1Server {
  const connections = new Set<H1Connection>();
  const host: ConnectionHost & { draining: boolean } = {
    limits,
    handlers,
    draining: false,
    forget: (c) => connections.delete(c),
  };
  const accept = (socket: Socket): void => {
    connections.add(new H1Connection(socket, host));
  };
  // Half-open: a client that sends its request and shuts its side still gets the answer.
  // node:tls is loaded only for a TLS listener: unloaded, it is ~5 MB less resident.
  const server: Server = tls
    ? process.getBuiltinModule('node:tls').createServer({ ...tls, ALPNProtocols: ['http/1.1'], allowHalfOpen: true }, accept)
    : createServer({ allowHalfOpen: true, noDelay: true }, accept);
  if (tls) server.on('connection', (s: Socket) => s.setNoDelay(true));
  const shortest = Math.min(...[limits.headersTimeoutMs, limits.requestTimeoutMs, limits.keepAliveTimeoutMs].filter((ms) => ms > 0));
  // Every limit is kept within a quarter of itself (50 ms at least), and idle connections
  // give their parsers back within twice PARK_AFTER_MS of going idle.
  const period = Math.max(50, Math.min(PARK_AFTER_MS, Number.isFinite(shortest) ? shortest / 4 : PARK_AFTER_MS));
  // Client connections that went idle together expire together: ended a few per turn (turn-sweep.ts).
  const sweeper = new TurnSweep<H1Connection>((c, now) => c.check(now));
  const sweep = setInterval(() => sweeper.start([...connections]), period);
  sweep.unref();
  server.on('close', () => {
    clearInterval(sweep);
    sweeper.stop();
  });
  return {
    server,
    closeIdle: () => {
      host.draining = true;
      for (const c of connections) {
        if (!c.idle) continue;
        // A response that has just ended may still wait in the socket for the end of the
        // poll phase (write-batch.ts): it goes out, then the connection ends.
        if (c.socket.writableLength > 0) c.endAfterWrites();
        else c.socket.destroy();
      }
    },
    closeAll: () => {
      for (const c of connections) c.socket.destroy();
    },
  };
}
