import type { Route } from '../config/schema.ts';
import { ProxyError } from '../errors/proxy-error.ts';
import type { UpstreamPool } from '../upstream/pool.ts';

// The failures the gateway itself declares (as opposed to those classify.ts names from an
// origin's behaviour), each with its Proxy-Status type, detail and message.

export function noRoute(host: string, url: string): ProxyError {
  return new ProxyError({
    type: 'destination_not_found',
    detail: 'no_route',
    message: `no route matches host "${host}" and path "${url.split('?')[0]}"`,
    source: 'internal',
    origin: 'local',
    stage: 'route',
    retry: 'no',
    // A path the gateway does not serve is the client's 404, as in Envoy (NR) and nginx.
    status: 404,
  });
}

export function noEndpoint(pool: UpstreamPool, waitedMs: number): ProxyError {
  return new ProxyError({
    type: 'destination_unavailable',
    detail: pool.allCircuitsOpen() ? 'circuit_open' : 'all_endpoints_down',
    message: `no endpoint of upstream "${pool.name}" is available${waitedMs > 0 ? ` (waited ${Math.round(waitedMs)} ms for one)` : ''}: ${pool.downReasons()}`,
    source: 'upstream',
    origin: 'local',
    stage: 'connect',
    retry: 'no',
    retryAfterSeconds: 5,
  });
}

export function shed(pool: UpstreamPool, reason: 'queue_full' | 'queue_timeout', retryAfterSeconds: number): ProxyError {
  return new ProxyError({
    type: 'connection_limit_reached',
    detail: reason,
    message:
      reason === 'queue_full'
        ? `upstream "${pool.name}" is at its concurrency limit and its queue is full`
        : `upstream "${pool.name}" is at its concurrency limit and the request waited ${pool.config.limits.queueTimeoutMs} ms in the queue`,
    source: 'internal',
    origin: 'local',
    stage: 'connect',
    retry: 'no',
    retryAfterSeconds,
  });
}

export function maintenance(what: string): ProxyError {
  return new ProxyError({
    type: 'proxy_internal_response',
    detail: 'maintenance',
    message: `${what} is in maintenance mode`,
    source: 'internal',
    origin: 'local',
    stage: 'route',
    retry: 'no',
    retryAfterSeconds: 60,
  });
}

export function clientGone(): ProxyError {
  return new ProxyError({
    type: 'http_request_error',
    detail: 'client_closed',
    message: 'the client closed the connection before the response was complete',
    source: 'downstream',
    origin: 'local',
    stage: 'body',
    retry: 'no',
    status: 499,
  });
}

export function totalTimeout(route: Route): ProxyError {
  return new ProxyError({
    type: 'http_response_timeout',
    detail: 'total_timeout',
    message: `the request did not complete within the total timeout of ${route.timeouts.totalMs} ms (route "${route.name}")`,
    source: 'upstream',
    origin: 'local',
    stage: 'body',
    retry: 'no',
  });
}

/** The client was still sending the body the gateway reads before the first try when the total deadline passed. */
export function clientBodyTimeout(route: Route, readBytes: number): ProxyError {
  return new ProxyError({
    type: 'http_request_error',
    detail: 'client_body_timeout',
    message: `the client had sent ${readBytes} bytes of its request body when the total timeout of ${route.timeouts.totalMs} ms (route "${route.name}") passed; the request never reached the origin`,
    source: 'downstream',
    origin: 'remote',
    stage: 'request',
    retry: 'no',
    status: 408,
  });
}

/** `announced`: the body's length as announced (Content-Length), or `read` so far of a chunked body. */
export function bodyTooLarge(size: { announced: number } | { read: number }, limit: number): ProxyError {
  return new ProxyError({
    type: 'http_request_error',
    detail: 'request_body_too_large',
    message:
      'announced' in size
        ? `the request body of ${size.announced} bytes is over limits.max_request_body_bytes (${limit})`
        : `the chunked request body passed limits.max_request_body_bytes (${limit}): ${size.read} bytes read when it was stopped`,
    source: 'downstream',
    origin: 'remote',
    stage: 'request',
    retry: 'no',
    status: 413,
  });
}

/** The origin answered the cache's conditional request with a 304 whose validators do not match the stored copy. */
export function revalidationMismatch(pool: string): ProxyError {
  return new ProxyError({
    type: 'http_protocol_error',
    detail: 'revalidation_mismatch',
    message: `upstream "${pool}" answered 304 Not Modified to a conditional request, but its validators no longer match the stored copy`,
    source: 'upstream',
    origin: 'remote',
    stage: 'headers',
    retry: 'no',
  });
}

export function responseBodyTooLarge(address: string, limit: number, announced: string): ProxyError {
  return new ProxyError({
    type: 'http_response_body_size',
    detail: 'response_body_too_large',
    message: `${address} announced a response body of ${announced} bytes, over limits.max_response_body_bytes (${limit})`,
    source: 'upstream',
    origin: 'remote',
    stage: 'headers',
    // The same request gets the same body: another try would only repeat the transfer.
    retry: 'no',
  });
}

export function perTryTimeout(address: string, ms: number): ProxyError {
  return new ProxyError({
    type: 'http_response_timeout',
    detail: 'per_try_timeout',
    message: `${address} sent no response headers within the per-try timeout of ${ms} ms`,
    source: 'upstream',
    origin: 'local',
    stage: 'headers',
    retry: 'idempotent',
  });
}
