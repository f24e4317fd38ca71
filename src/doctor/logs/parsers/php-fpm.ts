// PHP-FPM master log: "[03-Apr-2020 10:12:13] WARNING: [pool www] server reached
// pm.max_children setting (5), consider raising it". With log_level = debug the
// level is followed by "pid 23055, fpm_children_bury(), line 252: "; through syslog
// the date is gone and the level is bracketed: "[WARNING] fpm_children_bury(), line 252: ".
// Messages come from sapi/fpm/fpm (fpm_process_ctl.c, fpm_request.c, fpm_children.c, fpm_stdio.c).

import { CAUSE_INFO } from '../causes.ts';
import { fpmTime } from '../timestamps.ts';
import type { Cause, ErrorCause, LineResult } from '../types.ts';
import type { LogParser } from './parser.ts';

const DATED = /^\[\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d(?:\.\d+)?\] ([A-Z]+): /;
const BRACKETED = /^\[(DEBUG|NOTICE|WARNING|ERROR|ALERT)\] /;
const POOL = /\[pool ([^\]]+)\]/;

function sniff(line: string): boolean {
  if (line.charCodeAt(0) !== 91) return false;
  if (line.charCodeAt(3) === 45 && line.charCodeAt(7) === 45) return DATED.test(line);
  return BRACKETED.test(line) && line.includes('[pool ');
}

type Verdict = { cause: Cause; status?: number | null; limit?: number; elapsedSec?: number };

const FATAL_SIGNALS = ['(SIGSEGV', '(SIGABRT', '(SIGKILL', '(SIGBUS', '(SIGILL', '(SIGFPE'];

function judge(msg: string): Verdict {
  const reached = msg.indexOf('max_children setting (');
  if (reached >= 0) {
    return { cause: 'fpm_pool_exhausted', limit: Number.parseInt(msg.slice(reached + 22), 10) };
  }
  if (msg.includes("raising 'process.max'") || msg.includes('maximum number of processes has been reached')) {
    return { cause: 'fpm_pool_exhausted' };
  }
  const timedOut = msg.indexOf('execution timed out (');
  if (timedOut >= 0 && msg.includes('terminating')) {
    return { cause: 'fpm_request_terminated', elapsedSec: Number.parseFloat(msg.slice(timedOut + 21)) };
  }
  if (msg.includes(' exited on signal ')) {
    return FATAL_SIGNALS.some((s) => msg.includes(s)) ? { cause: 'app_crash' } : { cause: 'not_an_error' };
  }
  const code = msg.indexOf(' exited with code ');
  if (code >= 0) return Number.parseInt(msg.slice(code + 18), 10) === 0 ? { cause: 'not_an_error' } : { cause: 'app_crash' };
  if (msg.includes(' said into std')) {
    if (msg.includes('PHP Fatal error') || msg.includes('PHP Parse error')) return { cause: 'app_fatal_error' };
    return { cause: 'not_an_error' };
  }
  if (msg.includes('FPM initialization failed')) return { cause: 'app_crash', status: null };
  return { cause: 'not_an_error' };
}

function classify(line: string): LineResult | null {
  let time: number | null = null;
  let rest: number;
  const m = DATED.exec(line);
  if (m !== null) {
    time = fpmTime(line, 1);
    rest = m[0].length;
  } else {
    const b = BRACKETED.exec(line);
    if (b === null) return null;
    rest = b[0].length;
  }
  const msg = line.slice(rest);
  const v = judge(msg);
  const pool = POOL.exec(msg)?.[1];
  const base = { format: 'php-fpm' as const, time, upstream: null, ...(pool === undefined ? {} : { pool }) };
  if (v.cause === 'not_an_error') return { ...base, cause: 'not_an_error', hop: null, status: null };
  const info = CAUSE_INFO[v.cause as ErrorCause];
  return {
    ...base,
    cause: v.cause,
    hop: info.hop,
    status: v.status === undefined ? info.status : v.status,
    ...(v.limit === undefined || Number.isNaN(v.limit) ? {} : { limit: v.limit }),
    ...(v.elapsedSec === undefined || Number.isNaN(v.elapsedSec) ? {} : { elapsedSec: v.elapsedSec }),
  };
}

export const phpFpmParser: LogParser = { format: 'php-fpm', sniff, classify };
