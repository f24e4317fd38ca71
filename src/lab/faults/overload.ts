// An overloaded worker pool, like PHP-FPM at pm.max_children: `workers` requests are
// served at once, each holding its worker for `serviceMs`; up to `queue` more wait their
// turn (so latency climbs by serviceMs per `workers` queued), and the next one is reset,
// as a full listen backlog would turn it away.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultContext, FaultHandle } from './context.ts';
import { createHttpServer, readBody, textBody } from './http-server.ts';
import { listenerHandle } from './listener.ts';
import { DEFAULTS } from './options.ts';

type Job = { res: ServerResponse; queuedAt: number };

export function overloadFault(ctx: FaultContext): FaultHandle {
  const workers = ctx.opts.workers ?? DEFAULTS.workers;
  const serviceMs = ctx.opts.serviceMs ?? DEFAULTS.serviceMs;
  const limit = ctx.opts.queue ?? DEFAULTS.queue;
  const body = textBody(ctx.opts.bodyBytes ?? DEFAULTS.bodyBytes);
  let busy = 0;
  // Admitted, body still arriving: they hold a queue place already.
  const reading = new Set<Job>();
  const waiting: Job[] = [];

  const serve = (job: Job) => {
    busy++;
    const waitedMs = Math.round(performance.now() - job.queuedAt);
    // The worker stays busy even if the client left: PHP does not notice either.
    ctx.timers.after(serviceMs, () => {
      busy--;
      if (!job.res.destroyed) {
        job.res.writeHead(200, {
          'content-type': 'text/plain; charset=utf-8',
          'content-length': body.length,
          'x-lab-queue-ms': String(waitedMs),
        });
        job.res.end(body);
      }
      next();
    });
  };
  const next = () => {
    while (busy < workers) {
      const job = waiting.shift();
      if (!job) return;
      if (!job.res.destroyed) serve(job);
    }
  };

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (busy + reading.size + waiting.length >= workers + limit) {
      ctx.stats.rejected++;
      req.socket.resetAndDestroy();
      return;
    }
    const job: Job = { res, queuedAt: performance.now() };
    reading.add(job);
    res.once('close', () => reading.delete(job));
    readBody(req, ctx, () => {
      reading.delete(job);
      if (busy < workers) {
        serve(job);
        return;
      }
      waiting.push(job);
      ctx.stats.peakQueue = Math.max(ctx.stats.peakQueue, waiting.length);
    });
  };

  const handle = listenerHandle(createHttpServer(ctx, handler), ctx, 'http');
  return {
    ...handle,
    shutdown: async () => {
      // Timers are cleared by the listener, so the pool must forget its work with them.
      busy = 0;
      reading.clear();
      waiting.length = 0;
      await handle.shutdown();
    },
  };
}
