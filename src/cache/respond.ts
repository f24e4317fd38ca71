import { sfName } from '../errors/proxy-status.ts';
import type { RequestCtx } from '../server/request-ctx.ts';
import { staleMs } from './rules.ts';
import type { CacheEntry } from './store.ts';

/** Fields of a stored response that describe the connection it came on, or that we set ourselves. */
const NOT_REPLAYED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'warning', 'x-request-id', 'proxy-status', 'cache-status']);

export type Served =
  | { readonly kind: 'hit' }
  /** The origin confirmed the stored copy (304). */
  | { readonly kind: 'revalidated' }
  /** A stale copy standing in for a failed origin: the Proxy-Status member that says why, the origin's status if it answered. */
  | { readonly kind: 'stale'; readonly proxyStatus: string; readonly receivedStatus: number | null };

/**
 * Answers from a stored response: its status, headers (Age brought up to date) and body, with
 * our Via, X-Request-Id and an RFC 9211 Cache-Status saying how it was served. A stale copy
 * also carries the Proxy-Status of the failure it hides, so nothing is hidden from whoever looks.
 */
export function serveStored(ctx: RequestCtx, entry: CacheEntry, how: Served, name: string): void {
  const headers = entry.policy.responseHeaders();
  const out: string[] = [];
  let via = '';
  for (const key in headers) {
    const v = headers[key];
    if (v === undefined || NOT_REPLAYED.has(key)) continue;
    if (key === 'via') via = Array.isArray(v) ? v.join(', ') : v;
    else if (Array.isArray(v)) for (const x of v) out.push(key, x);
    else out.push(key, v);
  }
  out.push('via', via ? `${via}, 1.1 ${name}` : `1.1 ${name}`);
  out.push('x-request-id', ctx.requestId);
  const token = sfName(name);
  if (how.kind === 'hit') {
    out.push('cache-status', `${token}; hit; ttl=${Math.round(entry.policy.timeToLive() / 1000)}`);
  } else if (how.kind === 'revalidated') {
    out.push('cache-status', `${token}; fwd=stale; fwd-status=304; ttl=${Math.round(entry.policy.timeToLive() / 1000)}`);
  } else {
    const fwd = how.receivedStatus === null ? '' : `; fwd-status=${how.receivedStatus}`;
    out.push('cache-status', `${token}; fwd=stale${fwd}; ttl=${-Math.round(staleMs(entry.policy) / 1000)}; detail=stale-if-error`);
    out.push('proxy-status', how.proxyStatus);
  }
  ctx.res.writeHead(entry.status, out);
  if (ctx.req.method === 'HEAD') ctx.res.end();
  else {
    ctx.bytes = entry.body.length;
    ctx.res.end(entry.body);
  }
}
