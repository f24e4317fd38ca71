import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Observability } from '../observability.ts';

/** Dashboards connected at once; more get 503 (each holds a socket and a timer subscription). */
const MAX_CLIENTS = 32;
/** A client this far behind is dropped rather than buffered without bound. */
const MAX_BUFFERED = 1 << 20;

/**
 * /api/events: a snapshot (status and the last hour, per second) on connect, then every
 * second the seconds just closed, and the status when something changed.
 */
export class EventStream {
  private readonly obs: Observability;
  private readonly clients = new Set<ServerResponse>();

  constructor(obs: Observability) {
    this.obs = obs;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.clients.size >= MAX_CLIENTS) {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '10' }).end(`at most ${MAX_CLIENTS} live dashboards\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    send(res, 'snapshot', { status: this.obs.status(), series: this.obs.timeline.series() });
    this.clients.add(res);
    const off = this.obs.onTick((seconds, status) => {
      if (res.writableLength > MAX_BUFFERED) {
        res.destroy();
        return;
      }
      send(res, 'tick', status ? { seconds, status } : { seconds });
    });
    req.socket.setKeepAlive(true);
    res.on('close', () => {
      off();
      this.clients.delete(res);
    });
  }

  closeAll(): void {
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}

function send(res: ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
