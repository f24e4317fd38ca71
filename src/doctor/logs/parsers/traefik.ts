// Traefik logs in JSON (--log.format=json, --accesslog.format=json), and the
// default logfmt for the error line. The proxy error is logged at debug level:
// v2 "'502 Bad Gateway' caused by: EOF", v3 {"error":"EOF","message":"502 Bad Gateway"}
// (pkg/proxy/httputil/proxy.go). Access entries carry DownstreamStatus and OriginStatus.

import { CAUSE_INFO } from '../causes.ts';
import { goErrorCause, goErrorUpstream } from '../net-errors.ts';
import { jsonTime } from '../timestamps.ts';
import type { ErrorCause, LineResult } from '../types.ts';
import { causeFromStatus } from './caddy.ts';
import type { LogParser } from './parser.ts';

const CAUSED_BY = /'(\d{3}) [^']*' caused by: (.*)$/;
const LOGFMT = /^time="([^"]+)" level=\w+ msg="((?:[^"\\]|\\.)*)"/;

function sniff(line: string): boolean {
  if (line.charCodeAt(0) === 123) {
    return line.includes('"DownstreamStatus"') || line.includes('caused by: ') || /"message":"\d{3} /.test(line);
  }
  return line.startsWith('time="') && line.includes('caused by: ');
}

type TraefikEntry = {
  level?: unknown;
  msg?: unknown;
  message?: unknown;
  error?: unknown;
  time?: unknown;
  DownstreamStatus?: unknown;
  OriginStatus?: unknown;
  OriginDuration?: unknown;
  ServiceURL?: unknown;
  ServiceAddr?: unknown;
  StartUTC?: unknown;
};

function errorLine(statusText: string, err: string, time: number | null): LineResult {
  const status = Number(statusText);
  const cause: ErrorCause = goErrorCause(err) ?? causeFromStatus(status, null);
  return {
    format: 'traefik',
    cause,
    hop: CAUSE_INFO[cause].hop,
    status,
    time,
    upstream: goErrorUpstream(err),
  };
}

function serviceOf(e: TraefikEntry): string | null {
  if (typeof e.ServiceAddr === 'string' && e.ServiceAddr !== '') return e.ServiceAddr;
  const u = e.ServiceURL;
  if (typeof u === 'string') return u === '' ? null : u;
  if (u !== null && typeof u === 'object' && typeof (u as { Host?: unknown }).Host === 'string') {
    return (u as { Host: string }).Host;
  }
  return null;
}

function classify(line: string): LineResult | null {
  if (line.startsWith('time="')) {
    const m = LOGFMT.exec(line);
    if (m === null) return null;
    const c = CAUSED_BY.exec((m[2] as string).replace(/\\"/g, '"'));
    if (c === null) return null;
    return errorLine(c[1] as string, c[2] as string, jsonTime(m[1]));
  }
  if (!sniff(line)) return null;
  let e: TraefikEntry;
  try {
    e = JSON.parse(line) as TraefikEntry;
  } catch {
    return null;
  }
  const time = jsonTime(e.time ?? e.StartUTC);
  if (typeof e.DownstreamStatus === 'number') {
    const status = e.DownstreamStatus;
    const upstream = serviceOf(e);
    const base = { format: 'traefik' as const, time, upstream, status };
    if (status === 499) return { ...base, cause: 'client_closed', hop: 'client' };
    if (status < 500) return { ...base, cause: 'not_an_error', hop: null };
    const origin = typeof e.OriginStatus === 'number' ? e.OriginStatus : 0;
    let cause: ErrorCause;
    if (upstream === null) cause = 'no_live_upstreams';
    else if (origin === status) cause = status === 503 ? 'no_live_upstreams' : 'app_fatal_error';
    else {
      const ns = typeof e.OriginDuration === 'number' ? e.OriginDuration : null;
      cause = causeFromStatus(status, ns === null ? null : ns / 1e9);
    }
    return { ...base, cause, hop: CAUSE_INFO[cause].hop, inferred: true };
  }
  const msg = typeof e.msg === 'string' ? e.msg : '';
  const v2 = CAUSED_BY.exec(msg);
  if (v2 !== null) return errorLine(v2[1] as string, v2[2] as string, time);
  const message = typeof e.message === 'string' ? e.message : '';
  if (/^\d{3} /.test(message) && typeof e.error === 'string') return errorLine(message.slice(0, 3), e.error, time);
  return null;
}

export const traefikParser: LogParser = { format: 'traefik', sniff, classify };
