// Apache httpd error log (2.4 and 2.2):
// "[Sat Jul 08 17:40:54.742169 2017] [proxy:error] [pid 1081] (111)Connection refused:
//  AH00957: HTTP: attempt to connect to 127.0.0.1:8000 (127.0.0.1) failed".
// Messages come from modules/proxy (proxy_util.c, mod_proxy_http.c, mod_proxy_fcgi.c).
// mod_proxy answers 503 when it cannot connect, unlike nginx's 502.

import { CAUSE_INFO } from '../causes.ts';
import { connectErrnoCause, errnoAt } from '../net-errors.ts';
import { apacheTime } from '../timestamps.ts';
import type { Cause, ErrorCause, LineResult } from '../types.ts';
import type { LogParser } from './parser.ts';

const HEAD = /^\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? \d{4}\] \[([^\]]*)\] /;

function sniff(line: string): boolean {
  return line.charCodeAt(0) === 91 && line.charCodeAt(4) === 32 && line.charCodeAt(8) === 32 && HEAD.test(line);
}

type Verdict = { cause: Cause; status?: number | null; summary?: boolean };

function judge(errno: number, msg: string): Verdict | null {
  if (msg.includes('AH02454') || msg.includes('Unix domain socket')) {
    return { cause: connectErrnoCause(errno, true) ?? 'upstream_refused', status: 503 };
  }
  if (msg.includes('AH00957') || msg.includes('attempt to connect to')) {
    return { cause: connectErrnoCause(errno, false) ?? 'upstream_refused', status: 503 };
  }
  if (msg.includes('AH00959') || msg.includes('disabling worker for')) {
    return { cause: 'upstream_refused', status: 503, summary: true };
  }
  if (msg.includes('AH00940') || msg.includes('disabled connection for')) {
    return { cause: 'no_live_upstreams', status: 503 };
  }
  if (msg.includes('AH01114') || msg.includes('AH01079') || msg.includes('failed to make connection to backend')) {
    return { cause: 'upstream_refused', status: 503, summary: true };
  }
  if (msg.includes('AH01102') || msg.includes('error reading status line from remote server')) {
    if (errno === 70007) return { cause: 'upstream_timeout_read', status: 504 };
    if (errno === 104 || errno === 32) return { cause: 'upstream_reset', status: 502 };
    return { cause: 'upstream_closed_prematurely', status: 502 };
  }
  if (msg.includes('DNS lookup failure for')) return { cause: 'dns_failure', status: 502 };
  if (msg.includes('AH00898') || msg.includes('Error reading from remote server')) {
    return { cause: 'upstream_closed_prematurely', status: 502, summary: true };
  }
  if (msg.includes('AH00961') || msg.includes('failed to enable ssl support')) {
    return { cause: 'tls_upstream_failure', status: 500 };
  }
  if (msg.includes('SSL Handshake with remote server') || msg.includes('SSL Proxy connect failed')) {
    return { cause: 'tls_upstream_failure', status: 502 };
  }
  if (msg.includes('AH01097') || msg.includes('pass request body failed')) {
    if (errno === 70007) return { cause: 'upstream_timeout_read', status: 504 };
    return { cause: 'upstream_reset', status: 502 };
  }
  if (msg.includes('AH01067') || msg.includes('Failed to read FastCGI header')) {
    return { cause: 'upstream_closed_prematurely', status: 503 };
  }
  if (msg.includes('AH01075') || msg.includes('Error dispatching request to')) {
    if (errno === 70007) return { cause: 'upstream_timeout_read', status: 504 };
    if (errno === 104 || errno === 32) return { cause: 'upstream_reset', status: 503 };
    return { cause: 'upstream_closed_prematurely', status: 503 };
  }
  if (msg.includes('AH01071') || msg.includes("Got error '")) {
    if (msg.includes('Primary script unknown')) return { cause: 'script_not_found', status: 404 };
    if (msg.includes('PHP Fatal error') || msg.includes('PHP Parse error')) {
      return { cause: 'app_fatal_error', status: 500 };
    }
    return { cause: 'not_an_error' };
  }
  if (msg.includes('AH01070') || msg.includes('Error parsing script headers')) {
    return { cause: 'invalid_upstream_response', status: 500 };
  }
  if (msg.includes('AH01144') || msg.includes('No protocol handler was valid')) {
    return { cause: 'gateway_misconfig', status: 500 };
  }
  if (msg.includes('AH00052') || msg.includes('exit signal Segmentation fault')) {
    return { cause: 'app_crash', status: null };
  }
  return null;
}

function upstreamOf(msg: string): string | null {
  const a = msg.indexOf('connect to ');
  if (a >= 0) {
    const sp = msg.indexOf(' ', a + 11);
    const s = msg.slice(a + 11, sp < 0 ? undefined : sp);
    return msg.includes('Unix domain socket') ? `unix:${s.replace(/^socket /, '')}` : s;
  }
  const b = msg.indexOf('remote server ');
  if (b >= 0) {
    const end = msg.indexOf(',', b);
    return msg.slice(b + 14, end < 0 ? undefined : end).trim();
  }
  const c = msg.indexOf('backend: ');
  if (c >= 0) return msg.slice(c + 9).split(/[ ,]/)[0] ?? null;
  return null;
}

function classify(line: string): LineResult | null {
  const m = HEAD.exec(line);
  if (m === null) return null;
  const tag = m[1] as string;
  const colon = tag.lastIndexOf(':');
  const level = colon < 0 ? tag : tag.slice(colon + 1);
  const module = colon < 0 ? '' : tag.slice(0, colon);
  const time = apacheTime(line, 1);
  let rest = m[0].length;
  let requestKey: string | undefined;
  if (line.startsWith('[pid ', rest)) {
    const end = line.indexOf('] ', rest);
    requestKey = line.slice(rest + 5, end);
    rest = end + 2;
  }
  const errno = line.charCodeAt(rest) === 40 ? errnoAt(line, rest) : -1;
  const msg = line.slice(rest);
  // Fix the unix socket path: "(2)No such file or directory: AH02454: FCGI: attempt to
  // connect to Unix domain socket /run/php/php8.2-fpm.sock (localhost:8000) failed".
  const unixAt = msg.indexOf('Unix domain socket ');
  const upstream = unixAt >= 0 ? `unix:${msg.slice(unixAt + 19).split(' ')[0]}` : upstreamOf(msg);
  const v = judge(errno, msg);
  const base = { format: 'apache-error' as const, time, upstream, ...(requestKey ? { requestKey } : {}) };
  if (v === null || v.cause === 'not_an_error') {
    const unrecognized = v === null && level === 'error' && module.startsWith('proxy');
    return { ...base, cause: 'not_an_error', hop: null, status: null, ...(unrecognized ? { unrecognized } : {}) };
  }
  const info = CAUSE_INFO[v.cause as ErrorCause];
  return {
    ...base,
    cause: v.cause,
    hop: info.hop,
    status: v.status === undefined ? info.status : v.status,
    ...(v.summary === true ? { summary: true } : {}),
  };
}

export const apacheErrorParser: LogParser = { format: 'apache-error', sniff, classify };
