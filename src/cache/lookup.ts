import type { RouteCache } from '../config/schema.ts';
import { sfName } from '../errors/proxy-status.ts';
import { type RequestCtx, cameOverTls } from '../server/request-ctx.ts';
import { BodyCapture } from './capture.ts';
import { serveStored } from './respond.ts';
import { type CacheRequest, isFresh, joined, staleUsable } from './rules.ts';
import type { CacheEntry, ResponseCache } from './store.ts';

/** Origin answers a stored copy may replace (nginx's proxy_cache_use_stale http_500 … http_504). */
const REPLACEABLE = new Set([500, 502, 503, 504]);

/** How a request on a cached route goes to the origin, when the cache could not answer it. */
export type CachePlan = {
  /** A stored copy that may stand in if the origin fails. */
  readonly stale: CacheEntry | null;
  /**
   * A stored copy the origin is asked to confirm (If-None-Match / If-Modified-Since, the
   * fields in `conditional`): a 304 answers the client with it, refreshed.
   */
  readonly revalidate: { readonly entry: CacheEntry; readonly request: CacheRequest; readonly conditional: string[]; readonly key: string } | null;
  readonly capture: BodyCapture;
  readonly cacheStatus: string;
  readonly replaceStatus: ((status: number) => boolean) | null;
};

/**
 * The cacheLookup phase, for GET and HEAD on a route with a cache: a fresh stored response
 * answers at once (null is returned); otherwise the plan for the trip to the origin, which
 * stores what comes back and keeps any stale copy ready for a failure.
 */
export function cacheLookup(ctx: RequestCtx, rules: RouteCache, cache: ResponseCache, name: string): CachePlan | null {
  const key = cacheKey(ctx);
  // Host as routed (an HTTP/2 request names it in :authority), so both protocols share copies.
  const headers = { ...joined(ctx.req.headers as Record<string, string | string[] | undefined>), host: ctx.host };
  const request: CacheRequest = { method: ctx.req.method ?? 'GET', url: ctx.req.url ?? '/', headers };
  const stored = cache.find(key, request.headers);
  if (stored && isFresh(stored.policy, request)) {
    ctx.cache = { result: 'hit' };
    serveStored(ctx, stored, { kind: 'hit' }, name);
    return null;
  }
  ctx.cache = { result: 'miss' };
  const stale = stored && staleUsable(stored.policy, rules.staleIfErrorMs) ? stored : null;
  const revalidate = stored ? revalidation(stored, request, key) : null;
  return {
    stale,
    revalidate,
    capture: new BodyCapture(cache, key, request, rules.maxObjectBytes),
    cacheStatus: `${sfName(name)}; fwd=${stored ? 'stale' : 'uri-miss'}`,
    replaceStatus: stale || revalidate ? (status) => (stale !== null && REPLACEABLE.has(status)) || (revalidate !== null && status === 304) : null,
  };
}

/**
 * The validators of a stored 200 (its ETag, its Last-Modified) as the conditional fields the
 * origin can answer with a 304, or null: none stored, or the client's request is conditional
 * itself (its own 304 is then the client's to receive).
 */
function revalidation(entry: CacheEntry, request: CacheRequest, key: string): CachePlan['revalidate'] {
  if (entry.status !== 200 || request.headers['if-none-match'] !== undefined || request.headers['if-modified-since'] !== undefined) return null;
  const h = entry.policy.revalidationHeaders({ method: 'GET', url: request.url, headers: request.headers });
  const conditional: string[] = [];
  for (const name of ['if-none-match', 'if-modified-since'] as const) {
    const v = h[name];
    if (typeof v === 'string') conditional.push(name, v);
  }
  return conditional.length > 0 ? { entry, request, conditional, key } : null;
}

/**
 * What identifies a response: the scheme (an origin may answer http with a redirect to
 * https), the host the client asked for, and the path with its query.
 */
export function cacheKey(ctx: RequestCtx): string {
  const scheme = cameOverTls(ctx.req) ? 'https' : 'http';
  return `${scheme}://${ctx.host.toLowerCase()}${ctx.req.url ?? '/'}`;
}
