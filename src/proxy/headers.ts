import { BlockList, isIPv6 } from 'node:net';
import { cameOverTls } from '../server/request-ctx.ts';
import type { ClientRequest } from '../server/exchange.ts';
import { newRequestId } from '../server/request-id.ts';

/** RFC 9110 §7.6.1: fields that describe one connection and must not be forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Fields the gateway replaces with its own version of them. */
const FORWARDING = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'x-request-id', 'via']);

export type ForwardingPolicy = {
  readonly xForwarded: boolean;
  readonly forwarded: boolean;
  /** Peers whose X-Forwarded-*, Forwarded and X-Request-Id are believed. */
  readonly trusted: BlockList;
  /** Any trusted peer at all (most gateways face the visitors themselves: no lookup then). */
  readonly hasTrusted: boolean;
};

export function trustedProxies(list: readonly string[]): BlockList {
  const bl = new BlockList();
  for (const entry of list) {
    const [addr, bits] = entry.split('/');
    const family = isIPv6(addr!) ? 'ipv6' : 'ipv4';
    if (bits === undefined) bl.addAddress(addr!, family);
    else bl.addSubnet(addr!, Number(bits), family);
  }
  return bl;
}

export type UpstreamRequestHead = {
  /** Flat [name, value, name, value, …] as undici takes them. */
  readonly headers: string[];
  readonly requestId: string;
  /** The visitor's address: the peer, or the first untrusted hop in X-Forwarded-For. */
  readonly clientIp: string;
  readonly host: string;
  /** Our own name was already in Via: the request has come round in a loop. */
  readonly loop: boolean;
  /** Upgrade protocol the client asked for (WebSocket), if any. */
  readonly upgrade: string | null;
  /** The request's framing, read in the same pass (Node's parser already checked it). */
  readonly contentLength: number | null;
  readonly chunked: boolean;
  readonly idempotencyKey: boolean;
};

const REQUEST_ID_OK = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

function connectionTokens(value: string | undefined): Set<string> | null {
  if (!value) return null;
  const out = new Set<string>();
  for (const t of value.split(',')) {
    const n = t.trim().toLowerCase();
    if (n) out.add(n);
  }
  return out;
}

/** The Connection field's tokens, straight from the raw headers (req.headers is built lazily, and only for this). */
function rawConnection(raw: readonly string[]): Set<string> | null {
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === 10 && key.toLowerCase() === 'connection') value = value === undefined ? raw[i + 1]! : `${value}, ${raw[i + 1]!}`;
  }
  return connectionTokens(value);
}

/**
 * An HTTP/2 request's fields as HTTP/1.1 has them: no pseudo-header fields, `:authority` as
 * Host (RFC 9113 §8.3.1: it wins over a Host field), and the cookie crumbs joined into one
 * Cookie field (§8.2.3).
 */
function http1Fields(raw: readonly string[]): string[] {
  const out: string[] = [];
  let authority = '';
  let host = '';
  let cookie: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    const value = raw[i + 1]!;
    if (key === ':authority') authority = value;
    else if (key === 'host') host ||= value;
    else if (key === 'cookie') cookie = cookie === null ? value : `${cookie}; ${value}`;
    else if (key.charCodeAt(0) !== 58 /* ':' */) out.push(key, value);
  }
  if (authority || host) out.unshift('host', authority || host);
  if (cookie !== null) out.push('cookie', cookie);
  return out;
}

function viaHasName(via: string, name: string): boolean {
  for (const part of via.split(',')) {
    // "1.1 gatewise (comment)": received-by is the second word.
    const words = part.trim().split(/\s+/);
    if (words[1]?.toLowerCase() === name) return true;
  }
  return false;
}

/** The peer's address, which the socket gives as an IP: only IPv6 has colons. */
function forwardedFor(ip: string): string {
  return ip.includes(':') ? `"[${ip}]"` : ip;
}

/**
 * The headers sent to the origin: the client's, minus hop-by-hop fields, plus Via,
 * X-Forwarded-*, Forwarded and X-Request-Id, believing forwarding fields only from
 * trusted proxies (anyone else could forge them). One pass over the raw headers: this runs
 * for every request.
 */
export function upstreamRequestHead(req: ClientRequest, name: string, policy: ForwardingPolicy): UpstreamRequestHead {
  const h2 = req.httpVersionMajor === 2;
  const raw = h2 ? http1Fields(req.rawHeaders) : req.rawHeaders;
  const peer = req.socket.remoteAddress ?? '';
  const trusted = peer !== '' && policy.hasTrusted && policy.trusted.check(peer, isIPv6(peer) ? 'ipv6' : 'ipv4');
  const connection = rawConnection(raw);
  const out: string[] = [];
  let via = '';
  let xff = '';
  let xfProto = '';
  let xfHost = '';
  let fwd = '';
  let requestId = '';
  let host = '';
  let upgrade: string | null = null;
  let contentLength: number | null = null;
  let chunked = false;
  let idempotencyKey = false;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    const value = raw[i + 1]!;
    const lower = key.toLowerCase();
    if (HOP_BY_HOP.has(lower)) {
      if (lower === 'transfer-encoding') chunked = true;
      else if (lower === 'upgrade') upgrade ??= value;
      continue;
    }
    // The request's own framing and name are read whatever Connection lists: a client naming
    // content-length there must not make its body vanish, or slip past the body limit.
    if (lower === 'host') host ||= value;
    else if (lower === 'content-length') contentLength ??= Number(value);
    else if (lower === 'idempotency-key' && !connection?.has(lower)) idempotencyKey = true;
    if (connection?.has(lower) || lower === 'expect') continue;
    if (FORWARDING.has(lower)) {
      if (lower === 'via') via = via ? `${via}, ${value}` : value;
      else if (lower === 'x-request-id') requestId ||= value;
      else if (!trusted) continue;
      else if (lower === 'x-forwarded-for') xff = xff ? `${xff}, ${value}` : value;
      else if (lower === 'x-forwarded-proto') xfProto ||= value;
      else if (lower === 'x-forwarded-host') xfHost ||= value;
      else fwd = fwd ? `${fwd}, ${value}` : value;
      continue;
    }
    out.push(key, value);
  }
  // A client's own id is kept (it ties the gateway's log to the caller's), when it is sane.
  if (!REQUEST_ID_OK.test(requestId)) requestId = newRequestId();
  const loop = via !== '' && viaHasName(via, name);
  const hop = h2 ? `2 ${name}` : `1.1 ${name}`;
  out.push('via', via ? `${via}, ${hop}` : hop);
  out.push('x-request-id', requestId);
  // An HTTP/2 body is framed by the stream, not by a header: one is coming unless the
  // request's headers ended the stream. The origin gets it chunked.
  if (h2 && contentLength === null && !(req as unknown as { stream: { endAfterHeaders: boolean } }).stream.endAfterHeaders) chunked = true;
  const proto = xfProto || (cameOverTls(req) ? 'https' : 'http');
  if (policy.xForwarded) {
    out.push('x-forwarded-for', xff ? `${xff}, ${peer}` : peer);
    out.push('x-forwarded-proto', proto);
    if (host || xfHost) out.push('x-forwarded-host', xfHost || host);
  }
  if (policy.forwarded) {
    const mine = `for=${forwardedFor(peer)};proto=${proto}${host ? `;host="${host}"` : ''}`;
    out.push('forwarded', fwd ? `${fwd}, ${mine}` : mine);
  }
  return {
    headers: out,
    requestId,
    clientIp: trusted && xff ? clientIpOf(peer, xff, policy.trusted) : peer,
    host,
    loop,
    upgrade: upgrade !== null && connection?.has('upgrade') ? upgrade : null,
    contentLength,
    chunked,
    idempotencyKey,
  };
}

/** The rightmost address in the X-Forwarded-For chain that is not a trusted proxy. */
function clientIpOf(peer: string, xff: string, trusted: BlockList): string {
  if (!xff) return peer;
  const hops = xff.split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const ip = hops[i]!.trim();
    if (!ip) continue;
    if (!trusted.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4')) return ip;
  }
  return hops[0]!.trim() || peer;
}

type HeaderValue = string | string[] | undefined;

/**
 * The origin's response headers as the client will get them: hop-by-hop fields removed,
 * our Via and Proxy-Status member appended after the origin's, X-Request-Id set.
 */
export function clientResponseHeaders(
  headers: Record<string, HeaderValue>,
  name: string,
  proxyStatusMember: string,
  requestId: string,
): string[] {
  const c = headers.connection;
  // Most origins say only keep-alive or close, which name no other field to drop.
  const connection = typeof c !== 'string' || c === 'keep-alive' || c === 'close' ? null : connectionTokens(c);
  const out: string[] = [];
  let via = '';
  let proxyStatus = '';
  for (const key in headers) {
    const value = headers[key];
    if (value === undefined || HOP_BY_HOP.has(key) || connection?.has(key)) continue;
    if (key === 'via') {
      via = Array.isArray(value) ? value.join(', ') : value;
      continue;
    }
    if (key === 'proxy-status') {
      proxyStatus = Array.isArray(value) ? value.join(', ') : value;
      continue;
    }
    if (key === 'x-request-id') continue;
    if (Array.isArray(value)) for (const v of value) out.push(key, v);
    else out.push(key, value);
  }
  out.push('via', via ? `${via}, 1.1 ${name}` : `1.1 ${name}`);
  out.push('proxy-status', proxyStatus ? `${proxyStatus}, ${proxyStatusMember}` : proxyStatusMember);
  out.push('x-request-id', requestId);
  return out;
}
