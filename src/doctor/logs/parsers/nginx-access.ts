// nginx access log: "combined" plus whatever upstream variables the operator
// appended ($upstream_addr $upstream_status $upstream_response_time $request_time,
// ingress-nginx's default format, or key=value styles such as "urt=0.001").
// An access line has no error message, so the cause is inferred from the status
// and the upstream timings, and marked as such.

import { CAUSE_INFO } from '../causes.ts';
import { clfTime } from '../timestamps.ts';
import type { ErrorCause, LineResult } from '../types.ts';
import type { LogParser } from './parser.ts';

const CORE = /\[(\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "((?:[^"\\]|\\.)*)" (\d{3}) (?:\d+|-)/;

function sniff(line: string): boolean {
  const b = line.indexOf(' [');
  return b > 0 && b < 120 && line.charCodeAt(b + 4) === 47 && line.includes('] "', b) && CORE.test(line);
}

/** Space-separated tokens; quotes group; "a, b" lists become one token "a,b". */
function tokens(s: string, from: number): string[] {
  const out: string[] = [];
  let i = from;
  while (i < s.length) {
    while (s.charCodeAt(i) === 32) i++;
    if (i >= s.length) break;
    let tok: string;
    if (s.charCodeAt(i) === 34) {
      let j = i + 1;
      while (j < s.length && s.charCodeAt(j) !== 34) j += s.charCodeAt(j) === 92 ? 2 : 1;
      tok = s.slice(i + 1, j);
      i = j + 1;
    } else {
      let j = i;
      while (j < s.length && s.charCodeAt(j) !== 32) j++;
      tok = s.slice(i, j);
      i = j;
    }
    const prev = out.length - 1;
    if (prev >= 0 && (out[prev] as string).endsWith(',')) out[prev] += tok;
    else out.push(tok);
  }
  return out;
}

const ADDR = /^(?:\d{1,3}(?:\.\d{1,3}){3}:\d+|\[[0-9a-fA-F:.]+\]:\d+|unix:\S+)$/;
const STATUS_LIST = /^(?:[1-5]\d\d|-)(?:[,:] ?(?:[1-5]\d\d|-))*$/;
const TIME_LIST = /^(?:\d+\.\d+|-)(?:[,:] ?(?:\d+\.\d+|-))*$/;

function isAddrList(t: string): boolean {
  return t.split(',').every((x) => ADDR.test(x));
}

function times(t: string | undefined): number[] | null {
  if (t === undefined) return null;
  const out: number[] = [];
  for (const p of t.split(/[,:]/)) {
    const v = Number.parseFloat(p);
    if (!Number.isNaN(v)) out.push(v);
  }
  return out.length === 0 ? null : out;
}

type Upstream = { addr?: string; status?: string; time?: string; connect?: string };

const KEYS: Readonly<Record<string, keyof Upstream>> = {
  upstream_addr: 'addr',
  upstream: 'addr',
  ua: 'addr',
  u: 'addr',
  upstream_status: 'status',
  us: 'status',
  ust: 'status',
  upstream_response_time: 'time',
  ups_resp_time: 'time',
  response_time: 'time',
  urt: 'time',
  upstream_connect_time: 'connect',
  uct: 'connect',
};

function upstreamFields(toks: string[]): Upstream {
  const u: Upstream = {};
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i] as string;
    const eq = t.indexOf('=');
    const key = eq > 0 ? t.slice(0, eq) : t.endsWith(':') ? t.slice(0, -1) : '';
    const field = KEYS[key];
    if (field !== undefined) {
      const value = eq > 0 ? t.slice(eq + 1).replace(/^"|"$/g, '') : (toks[++i] ?? '');
      u[field] = value;
    }
  }
  if (u.addr !== undefined || u.status !== undefined) return u;
  // Positional: the first address list, then the lists that follow it. The last
  // status-like list wins, since ingress-nginx logs the length before the status.
  const at = toks.findIndex(isAddrList);
  if (at < 0) return u;
  u.addr = toks[at] as string;
  for (let i = at + 1; i < toks.length; i++) {
    const t = toks[i] as string;
    if (STATUS_LIST.test(t)) u.status = t;
    else if (u.time === undefined && TIME_LIST.test(t)) u.time = t;
  }
  return u;
}

function classify(line: string): LineResult | null {
  const m = CORE.exec(line);
  if (m === null) return null;
  const status = Number(m[3]);
  const time = clfTime(m[1] as string);
  // Most lines are successes: their upstream fields explain nothing, so skip them.
  if (status < 499) return { format: 'nginx-access', cause: 'not_an_error', hop: null, status, time, upstream: null };
  const toks = tokens(line, m.index + m[0].length);
  const u = upstreamFields(toks);
  // With retries the list names every attempt; the last one produced the answer.
  const addr = u.addr === undefined || u.addr === '-' || u.addr === '' ? null : (u.addr.split(',').pop() as string);
  const base = { format: 'nginx-access' as const, time, upstream: addr, status };
  if (status === 499) return { ...base, cause: 'client_closed', hop: 'client' };
  if (status < 500) return { ...base, cause: 'not_an_error', hop: null };

  const cause = inferCause(status, addr, u);
  return { ...base, cause, hop: CAUSE_INFO[cause].hop, inferred: true };
}

function inferCause(status: number, addr: string | null, u: Upstream): ErrorCause {
  // nginx writes the upstream group's name in $upstream_addr when no server is left.
  if (addr !== null && !addr.includes(':')) return 'no_live_upstreams';
  const t = times(u.time);
  const slowest = t === null ? null : Math.max(...t);
  switch (status) {
    case 504: {
      if (u.connect !== undefined) {
        return u.connect.split(/[,:] ?/).includes('-') ? 'upstream_timeout_connect' : 'upstream_timeout_read';
      }
      // Connect timeouts are short (ingress-nginx: 5 s); read timeouts default to 60 s.
      return slowest !== null && slowest < 10 ? 'upstream_timeout_connect' : 'upstream_timeout_read';
    }
    case 502:
      // A refused connect fails at once; a connection dropped later took time.
      return slowest === null || slowest <= 0.005 ? 'upstream_refused' : 'upstream_closed_prematurely';
    case 503:
      return 'no_live_upstreams';
    default:
      return 'app_fatal_error';
  }
}

export const nginxAccessParser: LogParser = { format: 'nginx-access', sniff, classify };
