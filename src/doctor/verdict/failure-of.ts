// The one failure that stopped a walk, and whether its HTTP answer came from a gateway.
import { showsProxy } from '../probe/reveal.ts';
import type { ProbeFailure, Walk } from '../probe/types.ts';

export function failureOf(w: Walk): ProbeFailure | null {
  switch (w.failedAt) {
    case 'dns':
      return w.dns.failure ?? { code: 'NOANSWER', type: 'dns_error', message: `${w.dns.name} has no address` };
    case 'tcp':
      // Every address failed; the first in DNS order is the one most clients try.
      return w.tcp.find((t) => t.failure !== null)?.failure ?? null;
    case 'tls':
      return w.tls?.failure ?? null;
    case 'http':
      return w.http?.failure ?? null;
    default:
      return null;
  }
}

/**
 * Whether the server at the URL is a gateway: the caller said so (--origin), it signs as a
 * proxy (Via, Proxy-Status, CF-Ray, X-Cache, …), or it answered with one of the two status
 * codes that only a gateway sends (RFC 9110 §15.6.3, §15.6.5).
 */
export function answeredByGateway(w: Walk, originGiven: boolean): boolean {
  if (originGiven) return true;
  const h = w.http;
  if (h === null) return false;
  return showsProxy(h.headers) || h.status === 502 || h.status === 504;
}

export function statusLine(w: Walk): string {
  const h = w.http;
  if (h?.status == null) return 'no answer';
  return `${h.status}${h.statusText ? ` ${h.statusText}` : ''}`;
}
