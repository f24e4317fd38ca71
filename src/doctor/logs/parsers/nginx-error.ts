// nginx error log: "2023/04/11 10:12:13 [error] 1046#1046: *2094 <message>, client: …,
// server: …, request: "…", upstream: "…", host: "…"". The message strings come from
// src/http/ngx_http_upstream.c, the proxy/fastcgi modules and the resolver.

import { connectErrnoCause, errnoAt } from '../net-errors.ts';
import { nginxErrorTime } from '../timestamps.ts';
import type { Cause, ErrorCause, LineResult, LogHop } from '../types.ts';
import type { LogParser } from './parser.ts';
import { CAUSE_INFO } from '../causes.ts';

const HEAD = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[(\w+)\] /;

function sniff(line: string): boolean {
  if (line.startsWith('nginx: [')) return true;
  return line.charCodeAt(4) === 47 && line.charCodeAt(7) === 47 && line.charCodeAt(20) === 91 && HEAD.test(line);
}

function upstreamOf(line: string): string | null {
  const i = line.indexOf(', upstream: "');
  if (i < 0) return null;
  const start = i + 13;
  const end = line.indexOf('"', start);
  if (end < 0) return null;
  const u = line.slice(start, end);
  // Keep scheme://host:port; the request path repeats the request field.
  const scheme = u.indexOf('://');
  if (scheme < 0) return u;
  if (u.startsWith('unix:', scheme + 3)) {
    const colon = u.indexOf(':', scheme + 8);
    return colon < 0 ? u : u.slice(0, colon);
  }
  const slash = u.indexOf('/', scheme + 3);
  return slash < 0 ? u : u.slice(0, slash);
}

type Verdict = { cause: Cause; status?: number | null; unrecognized?: boolean };

const BODY_PHASE = ' while reading upstream';

function judge(level: string, msg: string): Verdict {
  const isError = level === 'error' || level === 'crit' || level === 'alert' || level === 'emerg';

  if (msg.startsWith('upstream timed out')) {
    if (msg.includes('while connecting to upstream')) return { cause: 'upstream_timeout_connect' };
    return { cause: 'upstream_timeout_read', status: msg.includes(BODY_PHASE) ? null : 504 };
  }
  if (msg.startsWith('no live upstreams')) return { cause: 'no_live_upstreams' };
  if (msg.startsWith('upstream prematurely closed')) {
    return { cause: 'upstream_closed_prematurely', status: msg.includes(BODY_PHASE) ? null : 502 };
  }
  if (msg.startsWith('upstream sent too big header')) return { cause: 'header_too_big' };
  if (msg.startsWith('upstream sent ') || msg.startsWith('upstream prematurely sent')) {
    // Duplicate header lines are only a warning; nginx keeps the response.
    if (!isError) return { cause: 'not_an_error' };
    return { cause: 'invalid_upstream_response' };
  }
  if (msg.startsWith('FastCGI sent in stderr')) return fastcgiStderr(msg);

  if (msg.startsWith('connect()')) {
    const open = msg.indexOf(' failed (');
    const unix = msg.startsWith('connect() to unix:');
    const cause = open < 0 ? null : connectErrnoCause(errnoAt(msg, open + 8), unix);
    if (cause !== null) return { cause };
  }
  if (msg.includes('SSL') && msg.includes('to upstream')) return { cause: 'tls_upstream_failure' };
  if (msg.startsWith('upstream SSL certificate')) return { cause: 'tls_upstream_failure' };

  if (msg.includes('client prematurely closed connection') || msg.includes('client closed connection while')) {
    return { cause: 'client_closed', status: 499 };
  }
  // recv()/readv()/writev()/send() errors: who broke depends on which side was being read.
  if (msg.includes('() failed (')) {
    const open = msg.indexOf('() failed (') + 10;
    const errno = errnoAt(msg, open);
    const onUpstream = msg.includes('upstream');
    if (onUpstream && (errno === 104 || errno === 32)) {
      return { cause: 'upstream_reset', status: msg.includes(BODY_PHASE) ? null : 502 };
    }
    if (!onUpstream && (errno === 104 || errno === 32)) return { cause: 'client_closed', status: 499 };
    if (onUpstream) {
      const cause = connectErrnoCause(errno, msg.includes('unix:'));
      if (cause !== null) return { cause };
    }
  }
  if (msg.includes(' could not be resolved (')) return { cause: 'dns_failure' };
  if (msg.startsWith('no resolver defined')) return { cause: 'gateway_misconfig', status: 502 };
  if (msg.startsWith('host not found in upstream')) return { cause: 'gateway_misconfig', status: null };
  if (msg.startsWith('rewrite or internal redirection cycle')) return { cause: 'gateway_misconfig' };
  if (msg.includes('worker_connections are not enough')) return { cause: 'gateway_misconfig' };

  return { cause: 'not_an_error', unrecognized: isError && !looksHarmless(msg) };
}

// Errors nginx logs for ordinary 403/404 traffic; not the gateway failing.
function looksHarmless(msg: string): boolean {
  return (
    (msg.startsWith('open() ') && msg.includes('(2: No such file or directory)')) ||
    msg.startsWith('directory index of') ||
    msg.startsWith('access forbidden by rule') ||
    msg.includes('SSL_do_handshake() failed') ||
    msg.startsWith('limiting requests') ||
    msg.startsWith('limiting connections')
  );
}

function fastcgiStderr(msg: string): Verdict {
  if (msg.includes('Primary script unknown') || msg.includes('Unable to open primary script')) {
    return { cause: 'script_not_found' };
  }
  if (msg.includes('PHP Fatal error') || msg.includes('PHP Parse error')) return { cause: 'app_fatal_error' };
  return { cause: 'not_an_error' };
}

function classify(raw: string): LineResult | null {
  let line = raw;
  let time: number | null = null;
  let level: string;
  let rest: number;
  if (line.startsWith('nginx: [')) {
    // nginx -t / startup messages on stderr carry no timestamp.
    const end = line.indexOf('] ', 8);
    if (end < 0) return null;
    level = line.slice(8, end);
    rest = end + 2;
  } else {
    const m = HEAD.exec(line);
    if (m === null) return null;
    level = m[1] as string;
    time = nginxErrorTime(line);
    rest = m[0].length;
  }
  // Skip "1046#1046: " and the connection number "*2094 ".
  const hash = line.indexOf(': ', rest);
  if (hash > 0 && hash - rest < 24 && line.charCodeAt(rest) >= 48 && line.charCodeAt(rest) <= 57) rest = hash + 2;
  if (line.charCodeAt(rest) === 42) {
    const sp = line.indexOf(' ', rest);
    if (sp > 0) rest = sp + 1;
  }
  const ctx = line.indexOf(', client: ', rest);
  line = ctx < 0 ? line.slice(rest) : line.slice(rest, ctx);
  const v = judge(level, line);
  const upstream = upstreamOf(raw);
  if (v.cause === 'not_an_error') {
    return {
      format: 'nginx-error',
      cause: 'not_an_error',
      hop: null,
      status: null,
      time,
      upstream,
      ...(v.unrecognized === true ? { unrecognized: true } : {}),
    };
  }
  const info = CAUSE_INFO[v.cause as ErrorCause];
  return {
    format: 'nginx-error',
    cause: v.cause,
    hop: info.hop as LogHop,
    status: v.status === undefined ? info.status : v.status,
    time,
    upstream,
  };
}

export const nginxErrorParser: LogParser = { format: 'nginx-error', sniff, classify };
