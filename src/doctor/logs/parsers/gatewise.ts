// gatewise's own access log: one JSON object per request with time, reqId, method,
// host, path, status, bytes, durationMs, route, upstream, upstreamStatus, attempts and
// error: { type, detail } when the request failed. The error type is a Proxy-Status
// type from src/errors/types.ts, so the mapping is exact, not inferred.

import { CAUSE_INFO } from '../causes.ts';
import { jsonTime } from '../timestamps.ts';
import { isProxyErrorType, type ProxyErrorType } from '../../../errors/types.ts';
import type { ErrorCause, LineResult } from '../types.ts';
import type { LogParser } from './parser.ts';

const BY_TYPE: Readonly<Record<ProxyErrorType, ErrorCause | null>> = {
  dns_timeout: 'dns_failure',
  dns_error: 'dns_failure',
  destination_not_found: 'gateway_misconfig',
  destination_unavailable: 'no_live_upstreams',
  destination_ip_prohibited: 'firewall_blocked',
  destination_ip_unroutable: 'firewall_blocked',
  connection_refused: 'upstream_refused',
  connection_terminated: 'upstream_closed_prematurely',
  connection_timeout: 'upstream_timeout_connect',
  connection_read_timeout: 'upstream_timeout_read',
  connection_write_timeout: 'upstream_timeout_read',
  connection_limit_reached: 'no_live_upstreams',
  tls_protocol_error: 'tls_upstream_failure',
  tls_certificate_error: 'tls_upstream_failure',
  tls_alert_received: 'tls_upstream_failure',
  http_request_error: null,
  http_request_denied: null,
  http_response_incomplete: 'upstream_closed_prematurely',
  http_response_header_section_size: 'header_too_big',
  http_response_header_size: 'header_too_big',
  http_response_body_size: 'invalid_upstream_response',
  http_response_trailer_section_size: 'header_too_big',
  http_response_trailer_size: 'header_too_big',
  http_response_transfer_coding: 'invalid_upstream_response',
  http_response_content_coding: 'invalid_upstream_response',
  http_response_timeout: 'upstream_timeout_read',
  http_upgrade_failed: 'invalid_upstream_response',
  http_protocol_error: 'invalid_upstream_response',
  proxy_internal_response: null,
  proxy_internal_error: 'gateway_misconfig',
  proxy_configuration_error: 'gateway_misconfig',
  proxy_loop_detected: 'gateway_misconfig',
};

function sniff(line: string): boolean {
  return line.charCodeAt(0) === 123 && line.includes('"reqId"') && line.includes('"durationMs"');
}

type Entry = {
  time?: unknown;
  status?: unknown;
  upstream?: unknown;
  upstreamStatus?: unknown;
  error?: { type?: unknown; detail?: unknown } | null;
};

function causeOf(e: Entry, status: number | null): ErrorCause | null {
  const err = e.error;
  if (err !== null && typeof err === 'object' && typeof err.type === 'string') {
    const detail = typeof err.detail === 'string' ? err.detail : '';
    // The client going away is logged with the error that ended the attempt, as 499.
    if (status === 499 || detail.startsWith('client_')) return 'client_closed';
    if (err.type === 'connection_terminated' && detail.includes('reset')) return 'upstream_reset';
    return isProxyErrorType(err.type) ? BY_TYPE[err.type] : null;
  }
  if (status === 499) return 'client_closed';
  // No gateway error but a 5xx: the origin itself answered with it.
  const origin = typeof e.upstreamStatus === 'number' ? e.upstreamStatus : null;
  if (origin !== null && origin >= 500) return origin === 503 ? 'no_live_upstreams' : 'app_fatal_error';
  return null;
}

function classify(line: string): LineResult | null {
  if (!sniff(line)) return null;
  let e: Entry;
  try {
    e = JSON.parse(line) as Entry;
  } catch {
    return null;
  }
  const status = typeof e.status === 'number' ? e.status : null;
  const upstream = typeof e.upstream === 'string' && e.upstream !== '' ? e.upstream : null;
  const time = jsonTime(e.time);
  const cause = causeOf(e, status);
  if (cause === null) return { format: 'gatewise', cause: 'not_an_error', hop: null, status, time, upstream };
  const hop = cause === 'app_fatal_error' ? 'app' : CAUSE_INFO[cause].hop;
  return { format: 'gatewise', cause, hop, status, time, upstream };
}

export const gatewiseParser: LogParser = { format: 'gatewise', sniff, classify };
