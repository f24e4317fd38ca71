// A healthy origin with a short keep-alive timeout, to reproduce the keep-alive race: it
// closes (FIN, with nothing unread) a connection at the very moment it has been idle for
// `idleMs`, so a client that reuses it just then writes into a closing socket. Node's own
// keepAliveTimeout is disabled because it closes later than it announces
// (keepAliveTimeoutBuffer) and always sends a Keep-Alive header.
import type { Socket } from 'node:net';
import type { FaultContext, FaultHandle } from './context.ts';
import { attachUpgradeEcho, healthyHandler } from './healthy.ts';
import { createHttpServer } from './http-server.ts';
import { listenerHandle } from './listener.ts';
import { DEFAULTS } from './options.ts';

export function closeIdleFault(ctx: FaultContext): FaultHandle {
  const idleMs = ctx.opts.idleMs ?? DEFAULTS.idleMs;
  const announce = ctx.opts.announce ?? DEFAULTS.announce;
  const healthy = healthyHandler(ctx);
  const inFlight = new Map<Socket, number>();
  const idle = new Map<Socket, NodeJS.Timeout>();

  const arm = (socket: Socket) => {
    idle.set(socket, ctx.timers.after(idleMs, () => socket.destroy(), socket));
  };
  const disarm = (socket: Socket) => {
    ctx.timers.cancel(idle.get(socket));
    idle.delete(socket);
  };

  const server = createHttpServer(
    ctx,
    (req, res) => {
      const socket = req.socket;
      disarm(socket);
      inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
      if (announce) res.setHeader('keep-alive', `timeout=${Math.ceil(idleMs / 1000)}`);
      res.once('finish', () => {
        const left = (inFlight.get(socket) ?? 1) - 1;
        inFlight.set(socket, left);
        if (left === 0 && !socket.destroyed) arm(socket);
      });
      healthy(req, res);
    },
    { keepAliveTimeout: 0 },
  );
  // A connection opened and never used is idle too.
  server.on('connection', (socket: Socket) => {
    arm(socket);
    socket.once('close', () => {
      idle.delete(socket);
      inFlight.delete(socket);
    });
  });
  // An upgraded connection is no longer HTTP: it is not idle while the echo runs.
  server.on('upgrade', (_req: unknown, socket: Socket) => disarm(socket));
  attachUpgradeEcho(server, ctx);
  return listenerHandle(server, ctx, 'http');
}
