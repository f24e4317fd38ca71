// Origins that answer correctly but too late: all at once after a long think (slow), or
// a byte at a time (drip). Both read the whole request first, as an application would.
import type { FaultContext, FaultHandle } from './context.ts';
import { createHttpServer, readBody, textBody } from './http-server.ts';
import { listenerHandle } from './listener.ts';
import { DEFAULTS } from './options.ts';

export function slowFault(ctx: FaultContext): FaultHandle {
  const delayMs = ctx.opts.delayMs ?? DEFAULTS.delayMs;
  const body = textBody(ctx.opts.bodyBytes ?? DEFAULTS.bodyBytes);
  const server = createHttpServer(ctx, (req, res) => {
    readBody(req, ctx, () => {
      ctx.timers.after(
        delayMs,
        () => {
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length });
          res.end(body);
        },
        req.socket,
      );
    });
  });
  return listenerHandle(server, ctx, 'http');
}

export function dripFault(ctx: FaultContext): FaultHandle {
  const intervalMs = ctx.opts.intervalMs ?? DEFAULTS.intervalMs;
  const body = textBody(ctx.opts.bodyBytes ?? DEFAULTS.bodyBytes);
  const server = createHttpServer(ctx, (req, res) => {
    readBody(req, ctx, () => {
      // The headers go at once: only the body is late, which a header timeout cannot see.
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length });
      res.flushHeaders();
      let sent = 0;
      const tick = ctx.timers.every(
        intervalMs,
        () => {
          res.write(body.subarray(sent, sent + 1));
          sent++;
          if (sent >= body.length) {
            ctx.timers.cancel(tick);
            res.end();
          }
        },
        req.socket,
      );
    });
  });
  return listenerHandle(server, ctx, 'http');
}
