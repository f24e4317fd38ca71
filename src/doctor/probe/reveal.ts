// The response headers that tell who answered: which proxy, CDN or cache produced a
// response is the first thing to know about a 502, and each vendor signs differently.
import { parseProxyStatus } from '../../errors/proxy-status.ts';
import { isProxyErrorType, PROXY_ERROR_TYPES } from '../../errors/types.ts';
import type { ExplainedProxyStatus, RevealingHeader } from './types.ts';

/** In the order they are shown. */
const REVEALING = [
  'server',
  'via',
  'proxy-status',
  'x-cache',
  'x-cache-status',
  'x-cache-hits',
  'x-proxy-cache',
  'cf-cache-status',
  'cf-ray',
  'x-served-by',
  'x-amz-cf-pop',
  'x-amz-cf-id',
  'x-varnish',
  'x-vercel-id',
  'x-vercel-cache',
  'fly-request-id',
  'x-nf-request-id',
  'x-envoy-upstream-service-time',
  'server-timing',
  'age',
  'x-powered-by',
  'x-request-id',
  'retry-after',
] as const;

/** Headers whose mere presence says a proxy or CDN is on the path. */
const PROXY_SIGNS = new Set(['via', 'proxy-status', 'x-cache', 'x-cache-status', 'cf-ray', 'x-served-by', 'x-amz-cf-id', 'x-varnish', 'x-vercel-id', 'fly-request-id']);

type Headers = Record<string, string | string[] | undefined>;

function value(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

export function revealingHeaders(headers: Headers): RevealingHeader[] {
  const out: RevealingHeader[] = [];
  for (const name of REVEALING) {
    const v = value(headers, name);
    if (v !== undefined) out.push({ name, value: v });
  }
  return out;
}

export function showsProxy(headers: readonly RevealingHeader[]): boolean {
  return headers.some((h) => PROXY_SIGNS.has(h.name));
}

/** Each member, origin side first (RFC 9209 §2), with what its error type means. */
export function explainProxyStatus(headers: Headers): ExplainedProxyStatus[] {
  const raw = value(headers, 'proxy-status');
  if (raw === undefined) return [];
  return parseProxyStatus(raw).map((m) => {
    const error = typeof m.params.error === 'string' ? m.params.error : null;
    const info = error !== null && isProxyErrorType(error) ? PROXY_ERROR_TYPES[error] : null;
    const str = (k: string) => (typeof m.params[k] === 'string' ? (m.params[k] as string) : null);
    const received = m.params['received-status'];
    return {
      proxy: m.name,
      error,
      title: info?.title ?? null,
      check: info?.operator ?? null,
      details: str('details'),
      nextHop: str('next-hop'),
      receivedStatus: typeof received === 'number' ? received : null,
    };
  });
}
