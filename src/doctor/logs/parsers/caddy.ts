// Caddy v2 JSON logs. Proxy failures come in "http.log.error" entries whose msg is
// the Go transport error ("dial tcp 127.0.0.1:8080: connect: connection refused")
// and whose status is what the client got; access entries ("http.log.access",
// "handled request") carry only the status and duration.

import { CAUSE_INFO } from '../causes.ts';
import { goErrorCause, goErrorUpstream } from '../net-errors.ts';
import { jsonTime } from '../timestamps.ts';
import type { ErrorCause, LineResult } from '../types.ts';
import type { LogParser } from './parser.ts';

function sniff(line: string): boolean {
  return line.charCodeAt(0) === 123 && line.includes('"logger":"http.');
}

type CaddyEntry = {
  logger?: unknown;
  msg?: unknown;
  error?: unknown;
  status?: unknown;
  ts?: unknown;
  duration?: unknown;
  upstream?: unknown;
};

/** Cause of a 5xx seen without an error message, from status and duration. */
export function causeFromStatus(status: number, seconds: number | null): ErrorCause {
  if (status === 504) return 'upstream_timeout_read';
  if (status === 503) return 'no_live_upstreams';
  if (status === 502) return seconds !== null && seconds > 0.005 ? 'upstream_closed_prematurely' : 'upstream_refused';
  return 'app_fatal_error';
}

function classify(line: string): LineResult | null {
  if (!sniff(line)) return null;
  let e: CaddyEntry;
  try {
    e = JSON.parse(line) as CaddyEntry;
  } catch {
    return null;
  }
  const logger = typeof e.logger === 'string' ? e.logger : '';
  const msg = typeof e.msg === 'string' ? e.msg : '';
  const err = typeof e.error === 'string' ? e.error : '';
  const status = typeof e.status === 'number' && e.status > 0 ? e.status : null;
  const time = jsonTime(e.ts);
  const text = logger.startsWith('http.log.error') ? msg : err;
  const upstream = typeof e.upstream === 'string' ? e.upstream : goErrorUpstream(text);
  const base = { format: 'caddy' as const, time, upstream };

  let cause: ErrorCause | null = text === '' ? null : goErrorCause(text);
  let inferred = false;
  if (cause === null) {
    if (status === 499) cause = 'client_closed';
    else if (status !== null && status >= 500 && (logger.startsWith('http.log') || err !== '')) {
      cause = causeFromStatus(status, typeof e.duration === 'number' ? e.duration : null);
      inferred = true;
    }
  }
  if (cause === null) return { ...base, cause: 'not_an_error', hop: null, status };
  // "aborting with incomplete response": the status was already sent.
  const shown = logger.startsWith('http.handlers') ? status : (status ?? CAUSE_INFO[cause].status);
  return { ...base, cause, hop: CAUSE_INFO[cause].hop, status: shown, ...(inferred ? { inferred } : {}) };
}

export const caddyParser: LogParser = { format: 'caddy', sniff, classify };
