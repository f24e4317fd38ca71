import { type CustomPages, renderErrorPage } from '../errors/error-page.ts';
import type { ProxyError } from '../errors/proxy-error.ts';
import { formatProxyStatusMember } from '../errors/proxy-status.ts';
import type { RequestCtx } from '../server/request-ctx.ts';

export type FailOptions = {
  readonly name: string;
  readonly exposeInternals: boolean;
  readonly pages: CustomPages | undefined;
};

/** The Proxy-Status member that explains this error (RFC 9209 §2.1). */
export function errorMember(err: ProxyError, opts: FailOptions): string {
  return formatProxyStatusMember({
    name: opts.name,
    error: err.type,
    details: err.detail,
    ...(err.hop ? { nextHop: opts.exposeInternals ? err.hop.endpoint : err.hop.pool } : {}),
    params: err.params,
  });
}

/**
 * The failToProxy phase: the client gets a status, a Proxy-Status that names the cause, and
 * a page it can read. If the response had already started, there is nothing honest to send:
 * the connection is aborted so the client cannot mistake a cut body for a whole one.
 */
export function failToProxy(ctx: RequestCtx, err: ProxyError, opts: FailOptions): void {
  ctx.error = err;
  const { res } = ctx;
  if (ctx.clientGone || res.destroyed) return;
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  const page = renderErrorPage(
    {
      status: err.status,
      type: err.type,
      detail: err.detail,
      requestId: ctx.requestId,
      time: ctx.time,
      route: ctx.route?.name ?? null,
      internals: opts.exposeInternals ? { endpoint: err.hop?.endpoint ?? null, message: err.explain() } : null,
      retryAfterSeconds: err.retryAfterSeconds,
    },
    ctx.req.headers.accept,
    opts.pages,
  );
  const headers: string[] = [
    'content-type',
    page.contentType,
    'content-length',
    String(Buffer.byteLength(page.body)),
    'proxy-status',
    errorMember(err, opts),
    'x-request-id',
    ctx.requestId,
  ];
  for (const [k, v] of Object.entries(page.headers)) headers.push(k, v);
  // A malformed or looping request leaves the connection in a state not worth reusing.
  // (HTTP/2 has no Connection field: its other streams are not affected.)
  if ((err.source === 'downstream' || err.type === 'proxy_loop_detected') && ctx.req.httpVersionMajor === 1) headers.push('connection', 'close');
  res.writeHead(page.status, headers);
  res.end(ctx.req.method === 'HEAD' ? undefined : page.body);
}
