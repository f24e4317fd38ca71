// The RFC 9209 Proxy-Status error types, with the status code the RFC recommends,
// whether a failure of this kind is worth retrying elsewhere, and the plain-words
// explanation used by the error page, the logs and the doctor. One table so that
// the page, the header and the log can never disagree about what a type means.

export type Hop = 'client' | 'gateway' | 'origin';

type TypeInfo = {
  /** HTTP status the RFC recommends for a response carrying this error. */
  readonly status: number;
  /** Which link of Browser → gateway → origin broke. */
  readonly hop: Hop;
  /** The cause, in words a visitor understands. */
  readonly title: string;
  /** What the operator should check first. */
  readonly operator: string;
  /** Whether the visitor's page should retry by itself: the failure is likely to pass. */
  readonly transient: boolean;
};

export const PROXY_ERROR_TYPES = {
  dns_timeout: {
    status: 504,
    hop: 'origin',
    title: 'The origin server’s name could not be looked up in time',
    operator: 'The DNS resolver did not answer. Check the resolver the gateway uses and the origin’s DNS records.',
    transient: true,
  },
  dns_error: {
    status: 502,
    hop: 'origin',
    title: 'The origin server’s name could not be found',
    operator:
      'DNS answered with an error (NXDOMAIN or SERVFAIL). Check the upstream hostname in the configuration and its DNS records.',
    transient: false,
  },
  destination_not_found: {
    status: 500,
    hop: 'gateway',
    title: 'The gateway does not know where to send this request',
    operator: 'No route or upstream matches this request. Check the routes in the gateway configuration.',
    transient: false,
  },
  destination_unavailable: {
    status: 503,
    hop: 'origin',
    title: 'No origin server is available right now',
    operator: 'Every endpoint of the upstream pool is down, ejected or in maintenance. Check the origin servers’ health.',
    transient: true,
  },
  destination_ip_prohibited: {
    status: 502,
    hop: 'gateway',
    title: 'The gateway is not allowed to contact the origin server',
    operator: 'The origin’s address is forbidden by the gateway’s configuration.',
    transient: false,
  },
  destination_ip_unroutable: {
    status: 502,
    hop: 'origin',
    title: 'The origin server cannot be reached over the network',
    operator: 'There is no route to the origin (EHOSTUNREACH/ENETUNREACH). Check routing, VPN and firewall between gateway and origin.',
    transient: true,
  },
  connection_refused: {
    status: 502,
    hop: 'origin',
    title: 'The origin server refused the connection',
    operator: 'Nothing listens on the origin’s address and port: the service is stopped, crashed or restarting. Check that it runs and listens on the configured port.',
    transient: true,
  },
  connection_terminated: {
    status: 502,
    hop: 'origin',
    title: 'The origin server closed the connection unexpectedly',
    operator: 'The origin closed or reset the connection before answering: it crashed, was killed, or closed an idle keep-alive connection. Check the origin’s error log and its keep-alive timeout.',
    transient: true,
  },
  connection_timeout: {
    status: 504,
    hop: 'origin',
    title: 'The origin server could not be reached in time',
    operator: 'The TCP connection to the origin never completed: a firewall drops packets, the host is down, or its accept queue is full. Check firewall rules and the origin host.',
    transient: true,
  },
  connection_read_timeout: {
    status: 504,
    hop: 'origin',
    title: 'The origin server stopped sending data',
    operator: 'The origin went silent in the middle of its answer for longer than the idle timeout. Check slow queries and the origin’s own timeouts.',
    transient: true,
  },
  connection_write_timeout: {
    status: 504,
    hop: 'origin',
    title: 'The origin server stopped accepting data',
    operator: 'The origin stopped reading the request body. Check the origin’s load and its body size limits.',
    transient: true,
  },
  connection_limit_reached: {
    status: 503,
    hop: 'gateway',
    title: 'The service is too busy right now',
    operator: 'The gateway’s connection or queue limit for this upstream was reached. The origin is overloaded; add capacity or raise the limit.',
    transient: true,
  },
  tls_protocol_error: {
    status: 502,
    hop: 'origin',
    title: 'A secure connection to the origin server could not be set up',
    operator: 'The TLS handshake with the origin failed (protocol or cipher mismatch, or the origin does not speak TLS on this port).',
    transient: false,
  },
  tls_certificate_error: {
    status: 502,
    hop: 'origin',
    title: 'The origin server’s certificate is not valid',
    operator: 'The origin’s TLS certificate failed verification (self-signed, expired, unknown issuer or wrong host name). Renew the certificate or configure the CA.',
    transient: false,
  },
  tls_alert_received: {
    status: 502,
    hop: 'origin',
    title: 'The origin server rejected the secure connection',
    operator: 'The origin sent a TLS alert during the handshake. Check the origin’s TLS configuration (SNI, client certificates, protocol versions).',
    transient: false,
  },
  http_request_error: {
    status: 400,
    hop: 'client',
    title: 'The request was malformed',
    operator: 'The client sent a request that is not valid HTTP/1.1; it was rejected and never reached the origin.',
    transient: false,
  },
  http_request_denied: {
    status: 403,
    hop: 'gateway',
    title: 'The request was refused by the gateway',
    operator: 'The gateway’s configuration denies this request.',
    transient: false,
  },
  http_response_incomplete: {
    status: 502,
    hop: 'origin',
    title: 'The origin server sent an incomplete answer',
    operator: 'The origin closed the connection before finishing its response. Check the origin’s error log for crashes or request time limits (PHP-FPM request_terminate_timeout).',
    transient: true,
  },
  http_response_header_section_size: {
    status: 502,
    hop: 'origin',
    title: 'The origin server sent headers that are too large',
    operator: 'The origin’s response header section is larger than the gateway accepts. Reduce cookies or headers at the origin, or raise limits.max_response_header_bytes.',
    transient: false,
  },
  http_response_header_size: {
    status: 502,
    hop: 'origin',
    title: 'The origin server sent a header that is too large',
    operator: 'One response header is larger than the gateway accepts. Reduce it at the origin, or raise limits.max_response_header_bytes.',
    transient: false,
  },
  http_response_body_size: {
    status: 502,
    hop: 'origin',
    title: 'The origin server sent a body that is too large',
    operator: 'The response body is larger than limits.max_response_body_bytes. Raise the limit, or find why the origin sends so much (a runaway export, a debug dump).',
    transient: false,
  },
  http_response_trailer_section_size: {
    status: 502,
    hop: 'origin',
    title: 'The origin server sent trailers that are too large',
    operator: 'The origin’s trailer section exceeds the limit.',
    transient: false,
  },
  http_response_trailer_size: {
    status: 502,
    hop: 'origin',
    title: 'The origin server sent a trailer that is too large',
    operator: 'One trailer field exceeds the limit.',
    transient: false,
  },
  http_response_transfer_coding: {
    status: 502,
    hop: 'origin',
    title: 'The origin server sent a garbled answer',
    operator: 'The origin’s chunked transfer encoding is invalid. Check the application or the server that produces the chunks.',
    transient: false,
  },
  http_response_content_coding: {
    status: 502,
    hop: 'origin',
    title: 'The origin server sent a body that cannot be decoded',
    operator: 'The response’s content coding is invalid.',
    transient: false,
  },
  http_response_timeout: {
    status: 504,
    hop: 'origin',
    title: 'The origin server took too long to answer',
    operator: 'The origin accepted the request but did not answer within the response header timeout. Check slow requests at the origin (PHP-FPM, database) and timeouts.response_header.',
    transient: true,
  },
  http_upgrade_failed: {
    status: 502,
    hop: 'origin',
    title: 'The origin server refused to switch protocols',
    operator: 'The origin did not accept the Upgrade (WebSocket) request.',
    transient: false,
  },
  http_protocol_error: {
    status: 502,
    hop: 'origin',
    title: 'The origin server sent an answer that is not valid HTTP',
    operator: 'The origin’s response could not be parsed (invalid status line or headers). Check that the upstream port speaks HTTP/1.1 and not TLS, FastCGI or another protocol.',
    transient: false,
  },
  proxy_internal_response: {
    status: 503,
    hop: 'gateway',
    title: 'The gateway answered this request itself',
    operator: 'The gateway generated this response (maintenance mode or a configured answer).',
    transient: true,
  },
  proxy_internal_error: {
    status: 500,
    hop: 'gateway',
    title: 'The gateway failed',
    operator: 'An internal error occurred in the gateway. Its error log has the stack trace.',
    transient: false,
  },
  proxy_configuration_error: {
    status: 500,
    hop: 'gateway',
    title: 'The gateway is misconfigured',
    operator: 'The gateway’s configuration does not allow this request to be served. Run `gatewise check` on the configuration.',
    transient: false,
  },
  proxy_loop_detected: {
    status: 502,
    hop: 'gateway',
    title: 'The request went round in a loop',
    operator: 'The request came back to this gateway (its own name is in Via). A route points at the gateway itself or two proxies forward to each other.',
    transient: false,
  },
} as const satisfies Record<string, TypeInfo>;

export type ProxyErrorType = keyof typeof PROXY_ERROR_TYPES;

export function isProxyErrorType(s: string): s is ProxyErrorType {
  return Object.hasOwn(PROXY_ERROR_TYPES, s);
}
