import { ProxyError, type AttemptHop, type RetrySafety, type Stage } from './proxy-error.ts';
import type { ProxyErrorType } from './types.ts';

// The ONLY place where a Node, OS, TLS, DNS or undici error becomes a ProxyError.
// Everything else in the gateway creates ProxyErrors directly or passes these along.

/** How far the attempt had got when it failed: decides stage and retry safety. */
export type AttemptProgress = 'connecting' | 'sent' | 'streaming';

export type ClassifyContext = {
  readonly progress: AttemptProgress;
  readonly hop: AttemptHop;
  readonly limits: { readonly connectMs: number; readonly responseHeaderMs: number; readonly idleMs: number };
};

type Shape = {
  type: ProxyErrorType;
  detail: string;
  message: string;
  stage: Stage;
  retry: RetrySafety;
  origin: 'local' | 'remote';
  params?: Record<string, string | number>;
};

const DNS_SYSCALLS = new Set(['getaddrinfo', 'queryA', 'queryAaaa', 'queryAny', 'resolve', 'resolve4', 'resolve6']);

/** TLS alert descriptions by the name OpenSSL gives them (RFC 8446 §6, RFC 5246 §7.2). */
const TLS_ALERT_IDS: Readonly<Record<string, number>> = {
  close_notify: 0,
  unexpected_message: 10,
  bad_record_mac: 20,
  record_overflow: 22,
  handshake_failure: 40,
  bad_certificate: 42,
  unsupported_certificate: 43,
  certificate_revoked: 44,
  certificate_expired: 45,
  certificate_unknown: 46,
  illegal_parameter: 47,
  unknown_ca: 48,
  access_denied: 49,
  decode_error: 50,
  decrypt_error: 51,
  protocol_version: 70,
  insufficient_security: 71,
  internal_error: 80,
  inappropriate_fallback: 86,
  user_cancelled: 90,
  missing_extension: 109,
  unsupported_extension: 110,
  unrecognized_name: 112,
  bad_certificate_status_response: 113,
  unknown_psk_identity: 115,
  certificate_required: 116,
  no_application_protocol: 120,
};

const CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_REVOKED',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

const TRANSFER_CODING_PARSE_ERRORS = new Set([
  'HPE_INVALID_CHUNK_SIZE',
  'HPE_INVALID_TRANSFER_ENCODING',
  'HPE_UNEXPECTED_CONTENT_LENGTH',
  'HPE_CHUNK_EXTENSIONS_OVERFLOW',
]);

type ErrLike = {
  code?: unknown;
  syscall?: unknown;
  message?: unknown;
  errors?: unknown;
  reason?: unknown;
  hostname?: unknown;
};

function codeOf(e: ErrLike): string {
  return typeof e.code === 'string' ? e.code : '';
}

/**
 * Happy Eyeballs (autoSelectFamily) fails with an AggregateError whose own code is
 * empty: the inner errors say what happened. Prefer the most telling one, since
 * a refused IPv4 and an unreachable IPv6 mean "refused".
 */
function unwrapAggregate(err: unknown): unknown {
  if (!(err instanceof AggregateError) || !Array.isArray(err.errors) || err.errors.length === 0) return err;
  const inner = err.errors as ErrLike[];
  const rank = (e: ErrLike): number => {
    const c = codeOf(e);
    if (c === 'ECONNREFUSED') return 0;
    if (c === 'ETIMEDOUT') return 1;
    return 2;
  };
  return [...inner].sort((a, b) => rank(a) - rank(b))[0];
}

/** Before any response byte, a closed connection may be the keep-alive race; after, it cut the answer. */
function closedShape(ctx: ClassifyContext, how: string, code: string): Shape {
  const at = ctx.hop.endpoint;
  if (ctx.progress === 'streaming') {
    return {
      type: 'http_response_incomplete',
      detail: `upstream_${how}_mid_body`,
      message: `${at} ${how === 'reset' ? 'reset' : 'closed'} the connection in the middle of the response body (${code})`,
      stage: 'body',
      retry: 'no',
      origin: 'local',
    };
  }
  return {
    type: 'connection_terminated',
    detail: how === 'reset' ? 'upstream_reset_before_response' : 'upstream_closed_before_response',
    message: `${at} ${how === 'reset' ? 'reset' : 'closed'} the connection before sending a response (${code})`,
    stage: ctx.progress === 'connecting' ? 'connect' : 'headers',
    retry: ctx.progress === 'connecting' ? 'yes' : 'if-reused',
    origin: 'local',
  };
}

function dnsShape(e: ErrLike, code: string, ctx: ClassifyContext): Shape {
  const name = typeof e.hostname === 'string' ? e.hostname : ctx.hop.endpoint;
  if (code === 'ETIMEOUT' || code === 'EAI_AGAIN') {
    return {
      type: 'dns_timeout',
      detail: 'dns_timeout',
      message: `looking up ${name} timed out (${code})`,
      stage: 'dns',
      retry: 'yes',
      origin: 'local',
    };
  }
  const rcode =
    code === 'ENOTFOUND' || code === 'ENODATA' ? 'NXDOMAIN' : code === 'EREFUSED' ? 'REFUSED' : code === 'ESERVFAIL' ? 'SERVFAIL' : code;
  return {
    type: 'dns_error',
    detail: `dns_${rcode.toLowerCase()}`,
    message: `looking up ${name} failed: ${rcode}`,
    stage: 'dns',
    retry: 'yes',
    origin: 'remote',
    params: { rcode },
  };
}

function shapeOf(raw: unknown, ctx: ClassifyContext): Shape {
  const e = (unwrapAggregate(raw) ?? {}) as ErrLike;
  const code = codeOf(e);
  const syscall = typeof e.syscall === 'string' ? e.syscall : '';
  const msg = typeof e.message === 'string' ? e.message : String(raw);
  const at = ctx.hop.endpoint;

  if (DNS_SYSCALLS.has(syscall) || code === 'ENOTFOUND' || code === 'EAI_AGAIN') return dnsShape(e, code, ctx);

  switch (code) {
    case 'ECONNREFUSED':
      return {
        type: 'connection_refused',
        detail: 'connect_refused',
        message: `connect to ${at} refused: nothing listens there`,
        stage: 'connect',
        retry: 'yes',
        origin: 'local',
      };
    case 'UND_ERR_CONNECT_TIMEOUT':
      return {
        type: 'connection_timeout',
        detail: 'connect_timeout',
        message: `connect to ${at} timed out after ${ctx.limits.connectMs} ms`,
        stage: 'connect',
        retry: 'yes',
        origin: 'local',
      };
    case 'ETIMEDOUT':
      return ctx.progress === 'connecting'
        ? {
            type: 'connection_timeout',
            detail: 'connect_timeout_os',
            message: `connect to ${at} timed out (the operating system gave up)`,
            stage: 'connect',
            retry: 'yes',
            origin: 'local',
          }
        : {
            type: 'connection_read_timeout',
            detail: 'socket_timeout_os',
            message: `the connection to ${at} timed out (the operating system gave up)`,
            stage: ctx.progress === 'streaming' ? 'body' : 'headers',
            retry: ctx.progress === 'streaming' ? 'no' : 'idempotent',
            origin: 'local',
          };
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return {
        type: 'destination_ip_unroutable',
        detail: code.toLowerCase(),
        message: `no route to ${at} (${code})`,
        stage: 'connect',
        retry: 'yes',
        origin: 'local',
      };
    case 'UND_ERR_HEADERS_TIMEOUT':
      return {
        type: 'http_response_timeout',
        detail: 'response_header_timeout',
        message: `${at} sent no response headers within ${ctx.limits.responseHeaderMs} ms`,
        stage: 'headers',
        retry: 'idempotent',
        origin: 'local',
      };
    case 'UND_ERR_BODY_TIMEOUT':
      return {
        type: 'connection_read_timeout',
        detail: 'body_idle_timeout',
        message: `${at} sent nothing for ${ctx.limits.idleMs} ms in the middle of the response`,
        stage: 'body',
        retry: ctx.progress === 'streaming' ? 'no' : 'idempotent',
        origin: 'local',
      };
    case 'UND_ERR_HEADERS_OVERFLOW':
    case 'HPE_HEADER_OVERFLOW':
      return {
        type: 'http_response_header_section_size',
        detail: 'response_headers_too_large',
        message: `${at} sent a response header section over the size limit`,
        stage: 'headers',
        retry: 'no',
        origin: 'remote',
      };
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return {
        type: 'http_response_incomplete',
        detail: 'content_length_mismatch',
        message: `${at} sent a body that does not match its Content-Length`,
        stage: 'body',
        retry: 'no',
        origin: 'remote',
      };
    case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
      return {
        type: 'http_response_body_size',
        detail: 'response_body_too_large',
        message: `${at} sent a response body over limits.max_response_body_bytes`,
        stage: 'body',
        retry: 'no',
        origin: 'remote',
      };
    case 'ECONNRESET':
      return closedShape(ctx, 'reset', code);
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return closedShape(ctx, 'closed', code);
  }

  // undici's HTTPParserError may carry no code (it looks the llhttp number up in the wrong
  // table): the reason in its message is then the only clue.
  const parser = code.startsWith('HPE_') || (e as { name?: unknown }).name === 'HTTPParserError';
  if (parser) {
    const reason = /\(([^)]*)\)/.exec(msg)?.[1] ?? msg;
    if (/overflow/i.test(reason)) return shapeOf(Object.assign(new Error(msg), { code: 'UND_ERR_HEADERS_OVERFLOW' }), ctx);
    const transfer = TRANSFER_CODING_PARSE_ERRORS.has(code) || /chunk|transfer-encoding|content-length/i.test(reason);
    return {
      type: transfer ? 'http_response_transfer_coding' : 'http_protocol_error',
      detail: transfer ? 'invalid_chunked_encoding' : 'invalid_http_response',
      message: `${at} sent ${transfer ? 'an invalid chunked body' : 'a response that is not valid HTTP/1.1'} (${code ? `${code}: ` : ''}${reason})`,
      stage: ctx.progress === 'streaming' ? 'body' : 'headers',
      retry: ctx.progress === 'streaming' ? 'no' : 'idempotent',
      origin: 'remote',
    };
  }

  if (CERT_CODES.has(code)) {
    return {
      type: 'tls_certificate_error',
      detail: `tls_${code.toLowerCase()}`,
      message: `the TLS certificate of ${at} failed verification: ${msg}`,
      stage: 'tls',
      retry: 'yes',
      origin: 'remote',
    };
  }
  const alertName = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13|SSL\/TLS)_ALERT_([A-Z_]+)$/.exec(code)?.[1]?.toLowerCase();
  if (alertName !== undefined) {
    // RFC 9209 names the alert by its number (alert-id) and a text (alert-message).
    const id = TLS_ALERT_IDS[alertName];
    const text = alertName.replaceAll('_', ' ');
    return {
      type: 'tls_alert_received',
      detail: `tls_alert_${alertName}`,
      message: `${at} sent the TLS alert "${text}"${id === undefined ? '' : ` (${id})`}`,
      stage: 'tls',
      retry: 'yes',
      origin: 'remote',
      params: id === undefined ? { 'alert-message': text } : { 'alert-id': id, 'alert-message': text },
    };
  }
  if (code.startsWith('ERR_SSL_') || code === 'EPROTO' || code.startsWith('ERR_TLS_')) {
    return {
      type: 'tls_protocol_error',
      detail: 'tls_handshake_failed',
      message: `the TLS handshake with ${at} failed: ${msg}`,
      stage: 'tls',
      retry: 'yes',
      origin: 'local',
    };
  }

  return {
    type: 'proxy_internal_error',
    detail: 'unclassified_error',
    message: `unexpected error while proxying to ${at}: ${code ? `${code}: ` : ''}${msg}`,
    stage: ctx.progress === 'connecting' ? 'connect' : ctx.progress === 'streaming' ? 'body' : 'headers',
    retry: 'no',
    origin: 'local',
  };
}

/** Turns whatever an upstream attempt failed with into one ProxyError that knows its hop. */
export function classifyUpstreamError(err: unknown, ctx: ClassifyContext): ProxyError {
  if (err instanceof ProxyError) return err.hop ? err : err.withHop(ctx.hop);
  const s = shapeOf(err, ctx);
  return new ProxyError({ ...s, source: 'upstream', hop: ctx.hop, cause: err });
}

/** A failure on the client's side of the gateway (malformed request, slow client, client gone). */
export function classifyClientError(err: unknown): ProxyError {
  const e = (err ?? {}) as ErrLike;
  const code = codeOf(e);
  const msg = typeof e.message === 'string' ? e.message : String(err);
  const refused = (detail: string, message: string, status: number, origin: 'local' | 'remote'): ProxyError =>
    new ProxyError({ type: 'http_request_error', detail, message, source: 'downstream', origin, stage: 'request', retry: 'no', status, cause: err });
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT' || code === 'ERR_HTTP_HEADERS_TIMEOUT') {
    return refused('client_request_timeout', 'the client did not send its request in time', 408, 'local');
  }
  if (code === 'ERR_SSL_HTTP_REQUEST') {
    return refused('plain_http_to_tls_port', 'a plain-HTTP request reached a port that speaks TLS: use https://', 400, 'local');
  }
  if (code === 'HPE_HEADER_OVERFLOW') {
    return refused('request_headers_too_large', 'the request header section is over the size limit', 431, 'remote');
  }
  if (code === 'ERR_MISSING_HOST_HEADER') {
    return refused('malformed_request', 'an HTTP/1.1 request without a Host field (RFC 9112 §3.2 requires one)', 400, 'remote');
  }
  if (code.startsWith('HPE_')) {
    return refused('malformed_request', `the request is not valid HTTP/1.1 (${code}${e.reason ? `: ${String(e.reason)}` : ''})`, 400, 'remote');
  }
  return refused('client_connection_error', `the client connection failed: ${code ? `${code}: ` : ''}${msg}`, 499, 'local');
}

/** Any other failure inside the gateway: a bug, named as such. */
export function classifyInternalError(err: unknown, where: string): ProxyError {
  if (err instanceof ProxyError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new ProxyError({
    type: 'proxy_internal_error',
    detail: 'internal_error',
    message: `internal error in ${where}: ${msg}`,
    source: 'internal',
    origin: 'local',
    stage: 'route',
    retry: 'no',
    cause: err,
  });
}
