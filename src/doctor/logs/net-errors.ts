import type { ErrorCause } from './types.ts';

/**
 * Cause of a failed connect() from its errno, as nginx prints "(111: Connection
 * refused)" and Apache "(111)Connection refused". A unix socket changes the
 * meaning of ENOENT/EACCES/EAGAIN: the socket file, not the network, is at fault.
 */
export function connectErrnoCause(errno: number, unixSocket: boolean): ErrorCause | null {
  switch (errno) {
    case 111: // ECONNREFUSED
      return 'upstream_refused';
    case 110: // ETIMEDOUT
    case 70007: // APR_TIMEUP
      return 'upstream_timeout_connect';
    case 104: // ECONNRESET
      return 'upstream_reset';
    case 113: // EHOSTUNREACH: a REJECT rule answers with ICMP host-prohibited
    case 101: // ENETUNREACH
      return 'firewall_blocked';
    case 2: // ENOENT
      return unixSocket ? 'socket_missing' : null;
    case 13: // EACCES
      return unixSocket ? 'socket_permission_denied' : 'firewall_blocked';
    case 11: // EAGAIN: the unix socket's accept queue (listen.backlog) is full
      return unixSocket ? 'socket_backlog_full' : null;
    default:
      return null;
  }
}

/** Reads the errno in "(111: Connection refused)" or "(111)Connection refused". */
export function errnoAt(text: string, open: number): number {
  let n = 0;
  let i = open + 1;
  for (; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
  }
  return i === open + 1 ? -1 : n;
}

/**
 * Cause of a Go net/http transport error, as Caddy and Traefik log them
 * ("dial tcp 127.0.0.1:8080: connect: connection refused", "EOF", ...).
 * Order matters: the DNS and unix-socket checks must win over the generic ones.
 */
export function goErrorCause(msg: string): ErrorCause | null {
  if (msg.includes('context canceled') || msg.includes('client disconnected')) return 'client_closed';
  if (msg.includes('no upstreams available') || msg.includes('no available server')) return 'no_live_upstreams';
  if (msg.includes('no such host') || msg.includes('server misbehaving') || msg.includes('lookup ')) {
    return 'dns_failure';
  }
  if (msg.includes('dial unix')) {
    if (msg.includes('no such file or directory')) return 'socket_missing';
    if (msg.includes('permission denied')) return 'socket_permission_denied';
    if (msg.includes('resource temporarily unavailable')) return 'socket_backlog_full';
    if (msg.includes('connection refused')) return 'upstream_refused';
  }
  if (msg.includes('connection refused')) return 'upstream_refused';
  if (msg.includes('no route to host') || msg.includes('network is unreachable')) return 'firewall_blocked';
  if (msg.includes('x509:') || msg.includes('tls:') || msg.includes('HTTP response to HTTPS client')) {
    return 'tls_upstream_failure';
  }
  if (msg.includes('timeout awaiting response headers') || msg.includes('context deadline exceeded')) {
    return 'upstream_timeout_read';
  }
  if (msg.includes('i/o timeout')) return msg.includes('dial ') ? 'upstream_timeout_connect' : 'upstream_timeout_read';
  if (msg.includes('connection reset by peer') || msg.includes('broken pipe')) return 'upstream_reset';
  if (msg.includes('response headers exceeded') || msg.includes('header list too long')) return 'header_too_big';
  if (msg.includes('malformed HTTP') || msg.includes('bad Content-Length') || msg.includes('invalid header')) {
    return 'invalid_upstream_response';
  }
  if (msg === 'EOF' || msg.endsWith(': EOF') || msg.includes('unexpected EOF') || msg.includes('server closed')) {
    return 'upstream_closed_prematurely';
  }
  return null;
}

/** "dial tcp 127.0.0.1:8080: ..." → "127.0.0.1:8080"; "dial unix /run/x.sock: ..." → "unix:/run/x.sock". */
export function goErrorUpstream(msg: string): string | null {
  const d = msg.indexOf('dial ');
  if (d >= 0) {
    const sp = msg.indexOf(' ', d + 5);
    const colon = msg.indexOf(': ', sp + 1);
    if (sp > 0 && colon > sp) {
      const addr = msg.slice(sp + 1, colon);
      return msg.startsWith('unix', d + 5) ? `unix:${addr}` : addr;
    }
  }
  const arrow = msg.indexOf('->');
  if (arrow >= 0) {
    const colon = msg.indexOf(': ', arrow);
    if (colon > arrow) return msg.slice(arrow + 2, colon);
  }
  return null;
}
