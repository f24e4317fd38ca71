import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { listen } from '../../server/listener.ts';
import type { Observability } from '../observability.ts';
import { asset, isAsset } from './assets.ts';
import { AdminAuth } from './auth.ts';
import { EventStream } from './sse.ts';

export type AdminServer = {
  /** http://host:port as bound (a wildcard address stays a wildcard). */
  readonly url: string;
  readonly address: AddressInfo;
  close(): Promise<void>;
};

export type AdminOptions = {
  readonly host: string;
  readonly port: number;
  readonly token: string | null;
  readonly obs: Observability;
  readonly events: Logger;
};

const SECURITY = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'";

/**
 * The admin listener: /metrics (Prometheus), /api/status (JSON), /api/events (server-sent
 * events) and the dashboard at /. Separate from the proxy listeners so it can stay on
 * loopback, or behind a token, while the gateway faces the world.
 */
export async function startAdminServer(o: AdminOptions): Promise<AdminServer> {
  const auth = new AdminAuth(o.token);
  const stream = new EventStream(o.obs);
  // Not imported: node:http's ES module facade loads Node's bundled undici (http1/status-codes.ts).
  const server = process.getBuiltinModule('node:http').createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      o.events.error({ err, path: req.url }, 'admin request failed');
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('internal error\n');
    });
  });
  // An open dashboard must not hold a graceful stop for the whole grace period.
  server.keepAliveTimeout = 5_000;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [k, v] of Object.entries(SECURITY)) res.setHeader(k, v);
    const url = new URL(req.url ?? '/', 'http://admin');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('only GET and HEAD\n');
      return;
    }
    const query = url.searchParams.get('token');
    if (auth.required && url.pathname === '/' && query !== null && auth.check(query)) {
      res.writeHead(303, { location: '/', 'set-cookie': auth.cookie(query) }).end();
      return;
    }
    if (!auth.check(auth.presented(req))) {
      res
        .writeHead(401, { 'www-authenticate': 'Bearer realm="gatewise admin"', 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
        .end('401 Unauthorized: send Authorization: Bearer <admin.token> (a browser can open /?token=<admin.token> once)\n');
      return;
    }
    switch (url.pathname) {
      case '/metrics': {
        const text = await o.obs.metrics.text();
        res.writeHead(200, { 'content-type': o.obs.metrics.contentType, 'cache-control': 'no-store' }).end(text);
        return;
      }
      case '/api/status':
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(o.obs.status()));
        return;
      case '/api/events':
        stream.handle(req, res);
        return;
      case '/healthz':
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' }).end('ok\n');
        return;
    }
    if (isAsset(url.pathname)) {
      const a = await asset(url.pathname);
      const headers: Record<string, string> = { 'content-type': a.type, 'cache-control': 'no-cache' };
      if (url.pathname === '/') headers['content-security-policy'] = CSP;
      res.writeHead(200, headers).end(req.method === 'HEAD' ? undefined : a.body);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: try /, /metrics, /api/status or /api/events\n');
  }

  const address = await listen(server, o.host, o.port);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    address,
    close: () =>
      new Promise<void>((resolve) => {
        stream.closeAll();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
