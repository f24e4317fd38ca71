import { type Server, type Socket, createServer } from 'node:net';
import type { TlsOptions } from 'node:tls';
import { type ConnectionHost, H1Connection, type H1Handlers, type H1Limits } from './connection.ts';

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
/** Connections a sweep ends per turn of the event loop (see createH1Server). */
export const ENDS_PER_TURN = 4;

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
  // Every limit is kept within a quarter of itself, or a second for limits over 4 s.
  const period = Math.max(50, Math.min(1000, Number.isFinite(shortest) ? shortest / 4 : 1000));
  // A sweep ends at most ENDS_PER_TURN connections per turn of the event loop and goes on
  // in the next: ending one costs ~50 µs, and the keep-alive connections of a burst's
  // clients all expire together (500 of them, ended in one callback, held the loop ~20 ms).
  let pending: H1Connection[] | null = null;
  let at = 0;
  let more: NodeJS.Immediate | null = null;
  const step = (): void => {
    more = null;
    const list = pending!;
    const now = performance.now();
    let ended = 0;
    while (at < list.length) {
      if (list[at++]!.check(now) && ++ended === ENDS_PER_TURN && at < list.length) {
        more = setImmediate(step).unref();
        return;
      }
    }
    pending = null;
  };
  const sweep = setInterval(() => {
    if (pending !== null) return;
    pending = [...connections];
    at = 0;
    step();
  }, period);
  sweep.unref();
  server.on('close', () => {
    clearInterval(sweep);
    if (more !== null) clearImmediate(more);
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
