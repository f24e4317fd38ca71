// Origins whose connection ends before their answer does. The difference between a FIN
// (socket.destroy() with nothing unread: the peer sees a clean end of stream) and an RST
// (socket.resetAndDestroy(): the peer sees ECONNRESET) is what the gateway must tell
// apart, so each fault picks one deliberately.
import { createServer, type Socket } from 'node:net';
import type { FaultContext, FaultHandle } from './context.ts';
import { createHttpServer, readBody, textBody } from './http-server.ts';
import { listenerHandle } from './listener.ts';
import { DEFAULTS } from './options.ts';

/** PHP-FPM's request_terminate_timeout: headers and some body, then the worker is killed (FIN). */
export function terminateFault(ctx: FaultContext): FaultHandle {
  const afterMs = ctx.opts.afterMs ?? DEFAULTS.terminateAfterMs;
  const part = textBody(ctx.opts.bodyBytes ?? DEFAULTS.bodyBytes);
  const chunked = ctx.opts.chunked ?? DEFAULTS.chunked;
  const server = createHttpServer(ctx, (req, res) => {
    readBody(req, ctx, () => {
      res.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        ...(chunked ? {} : { 'content-length': part.length * 4 }),
      });
      res.write(part);
      ctx.timers.after(afterMs, () => req.socket.destroy(), req.socket);
    });
  });
  return listenerHandle(server, ctx, 'http');
}

export function resetHeadersFault(ctx: FaultContext): FaultHandle {
  const server = createHttpServer(ctx, (req) => {
    readBody(req, ctx, () => req.socket.resetAndDestroy());
  });
  return listenerHandle(server, ctx, 'http');
}

export function resetBodyFault(ctx: FaultContext): FaultHandle {
  const afterMs = ctx.opts.afterMs ?? DEFAULTS.resetAfterMs;
  const part = textBody(ctx.opts.bodyBytes ?? DEFAULTS.bodyBytes);
  const server = createHttpServer(ctx, (req, res) => {
    readBody(req, ctx, () => {
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': part.length * 4 });
      // An RST discards what is still in the send buffer: wait until the part was handed
      // to the kernel, and give the peer `afterMs` to read it, so the cut is mid-body.
      res.write(part, () => ctx.timers.after(afterMs, () => req.socket.resetAndDestroy(), req.socket));
    });
  });
  return listenerHandle(server, ctx, 'http');
}

/**
 * Closes every connection as soon as it is accepted. The close is a half-close (FIN)
 * followed by discarding whatever the client sends: closing with the client's request
 * unread in the receive buffer would make the kernel send an RST instead.
 */
export function acceptCloseFault(ctx: FaultContext): FaultHandle {
  const server = createServer((socket: Socket) => {
    socket.on('error', () => socket.destroy());
    socket.resume();
    socket.end();
    ctx.timers.after(1000, () => socket.destroy(), socket);
  });
  return listenerHandle(server, ctx, 'http');
}
