import CachePolicy from 'http-cache-semantics';

type Headers = Record<string, string | string[] | undefined>;

/** The request as the cache rules see it; HEAD is looked up as the GET it shares a response with. */
export type CacheRequest = { readonly method: string; readonly url: string; readonly headers: Headers };

/**
 * The rules under which this response may be stored and handed to others (RFC 9111 as
 * http-cache-semantics reads it for a shared cache), or null. Stricter than the RFC where a
 * gateway in front of applications that do not think about caching would leak one visitor's
 * page to another: only a response that says it may be cached (max-age, s-maxage, Expires or
 * public: RFC 9111's heuristic freshness is not used) is stored; one that sets a cookie never
 * is, and neither is the answer to a request that carried a cookie or credentials unless the
 * origin marked it public.
 */
export function storablePolicy(req: CacheRequest, status: number, resHeaders: Headers): CachePolicy | null {
  if (resHeaders['set-cookie'] !== undefined) return null;
  const headers = joined(resHeaders);
  const cc = directives(headers['cache-control']);
  const explicit = headers.expires !== undefined || cc.some((d) => d === 'public' || d.startsWith('max-age=') || d.startsWith('s-maxage='));
  if (!explicit) return null;
  const policy = new CachePolicy({ method: 'GET', url: req.url, headers: req.headers }, { status, headers }, { shared: true });
  if (!policy.storable()) return null;
  const personal = req.headers.cookie !== undefined || req.headers.authorization !== undefined;
  if (personal && !cc.some((d) => d === 'public' || d.startsWith('s-maxage='))) return null;
  return policy;
}

/**
 * Repeated fields as one comma-separated value (RFC 9110 §5.3), as http-cache-semantics
 * expects them: undici hands a repeated Cache-Control or Vary over as an array.
 */
export function joined(headers: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in headers) {
    const v = headers[k];
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** Fresh for this request: it may be answered from the cache without asking the origin. */
export function isFresh(policy: CachePolicy, req: CacheRequest): boolean {
  return policy.satisfiesWithoutRevalidation({ method: 'GET', url: req.url, headers: req.headers });
}

/**
 * Whether a stored response may stand in for a failed origin (RFC 5861 stale-if-error):
 * never when the origin forbade serving it stale (must-revalidate, proxy-revalidate,
 * no-cache, s-maxage, RFC 9111 §4.2.4); otherwise while it is stale by no more than the
 * route's window or the response's own stale-if-error, whichever is longer.
 */
export function staleUsable(policy: CachePolicy, windowMs: number): boolean {
  const cc = directives(policy.responseHeaders()['cache-control']);
  if (cc.some((d) => d === 'must-revalidate' || d === 'proxy-revalidate' || d === 'no-cache' || d.startsWith('s-maxage'))) return false;
  const own = cc.find((d) => d.startsWith('stale-if-error='));
  const ownMs = own ? Number(own.slice('stale-if-error='.length)) * 1000 || 0 : 0;
  return staleMs(policy) <= Math.max(windowMs, ownMs);
}

/** How long ago the response stopped being fresh (0 while fresh). */
export function staleMs(policy: CachePolicy): number {
  return Math.max(0, (policy.age() - policy.maxAge()) * 1000);
}

function directives(v: string | string[] | undefined): string[] {
  const text = Array.isArray(v) ? v.join(',') : (v ?? '');
  return text
    .split(',')
    .map((d) => d.trim().toLowerCase().replace(/\s*=\s*/, '='))
    .filter((d) => d !== '');
}
