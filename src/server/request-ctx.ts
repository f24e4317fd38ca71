import type { Route } from '../config/schema.ts';
import type { ProxyError } from '../errors/proxy-error.ts';
import type { ProxyErrorType } from '../errors/types.ts';
import type { ConnectTimings } from '../upstream/connector.ts';
import type { ClientRequest, ClientResponse } from './exchange.ts';

/** One try of one request against one endpoint, as the access log reports it. */
export type AttemptRecord = {
  readonly endpoint: string;
  readonly reused: boolean;
  readonly durationMs: number;
  readonly status: number | null;
  readonly error: { readonly type: ProxyErrorType; readonly detail: string } | null;
  readonly connect: ConnectTimings | null;
  readonly ttfbMs: number | null;
};

/** Everything the gateway knows about one request while it travels through the phases. */
export type RequestCtx = {
  readonly req: ClientRequest;
  readonly res: ClientResponse;
  readonly time: Date;
  /** performance.now() when the request arrived. */
  readonly start: number;
  requestId: string;
  clientIp: string;
  host: string;
  route: Route | null;
  attempts: AttemptRecord[];
  upstreamStatus: number | null;
  /** Response body bytes written to the client. */
  bytes: number;
  error: ProxyError | null;
  /** The client went away before the response was complete (logged as 499). */
  clientGone: boolean;
  /** On a cached route: how the cache answered; null elsewhere. */
  cache: CacheOutcome | null;
};

/**
 * hit: answered from the cache; miss: from the origin; revalidated: from the cache after the
 * origin confirmed it (304); stale: a stored copy stood in for a
 * failed origin, `because` the failure it masked (an error type, or origin_503 and such).
 */
export type CacheOutcome = { readonly result: 'hit' | 'miss' | 'revalidated' } | { readonly result: 'stale'; readonly because: string };

/** Whether a request came over TLS: a TLS or HTTP/2 listener's socket is a TLSSocket, `encrypted`. */
export function cameOverTls(req: ClientRequest): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true;
}

export function newCtx(req: ClientRequest, res: ClientResponse): RequestCtx {
  return {
    req,
    res,
    time: new Date(),
    start: performance.now(),
    requestId: '',
    clientIp: req.socket.remoteAddress ?? '',
    host: '',
    route: null,
    attempts: [],
    upstreamStatus: null,
    bytes: 0,
    error: null,
    clientGone: false,
    cache: null,
  };
}
