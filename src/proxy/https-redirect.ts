import type { RequestCtx } from '../server/request-ctx.ts';

/**
 * Sends a request that came in clear to the same host and path over https:// (nginx's
 * `return 301 https://$host$request_uri`): 301 for GET and HEAD, 308 for the others, so a
 * POST is repeated as a POST rather than turned into a GET.
 */
export function redirectToHttps(ctx: RequestCtx, port: number | null): void {
  const name = hostName(ctx.host);
  const location = `https://${name}${port === null ? '' : `:${port}`}${ctx.req.url ?? '/'}`;
  const method = ctx.req.method;
  ctx.res.writeHead(method === 'GET' || method === 'HEAD' ? 301 : 308, ['location', location, 'content-length', '0', 'x-request-id', ctx.requestId]);
  ctx.res.end();
}

/** The host without its port: `a.example:8080` → `a.example`, `[::1]:8080` → `[::1]`. */
function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}
